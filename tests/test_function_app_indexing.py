"""The Functions host indexes function_app.py exactly like this; if it can't, the app loads 0 functions
and every route 404s. So: index it in a fresh process with no settings at all, and list every function."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# THE table of every function of the product; extend it when you add a function (the test fails
# until you do). name -> (trigger type, route / queue name / schedule, HTTP methods, auth level).
EXPECTED = {
    "health": ("httpTrigger", "health", ["GET"], "ANONYMOUS"),
    "migrations_status": ("httpTrigger", "migrations", ["GET"], "FUNCTION"),
    "migrations_apply": ("httpTrigger", "migrations/apply", ["POST"], "ADMIN"),
    "migrations_timer": ("timerTrigger", "%SCOUT_MIGRATIONS_SCHEDULE%", None, None),
    "job_status": ("httpTrigger", "jobs/{run_id}", ["GET"], "FUNCTION"),
    "jobs_worker": ("queueTrigger", "scout-jobs", None, None),
    "personas_infer": ("httpTrigger", "personas/infer", ["POST"], "FUNCTION"),
    "exports_flat": ("httpTrigger", "exports/flat", ["POST"], "FUNCTION"),
    "exports_flat_latest": ("httpTrigger", "exports/flat/latest", ["GET"], "FUNCTION"),
    "exports_nightly": ("timerTrigger", "%SCOUT_EXPORT_SCHEDULE%", None, None),
    "montecarlo_start": ("httpTrigger", "montecarlo/runs", ["POST"], "FUNCTION"),
    "montecarlo_status": ("httpTrigger", "montecarlo/runs/{run_id}", ["GET"], "FUNCTION"),
    "montecarlo_chart": ("httpTrigger", "montecarlo/runs/{run_id}/chart.png", ["GET"], "FUNCTION"),
    "montecarlo_batch": ("queueTrigger", "scout-montecarlo-batches", None, None),
    "montecarlo_poison": ("queueTrigger", "scout-montecarlo-batches-poison", None, None),
    "montecarlo_standing": ("timerTrigger", "%SCOUT_MONTECARLO_SCHEDULE%", None, None),
    "results_generate": ("httpTrigger", "v3/data-driven-results/generate/{session_id}/{topic}", ["POST"], "FUNCTION"),
    "results_status": ("httpTrigger", "v3/data-driven-results/status/{session_id}", ["GET"], "FUNCTION"),
    "results_segment": ("httpTrigger", "v3/data-driven-results/segment/{session_id}/{segment}", ["GET"], "FUNCTION"),
    "results_complete": ("httpTrigger", "v3/data-driven-results/complete/{session_id}", ["GET"], "FUNCTION"),
    "results_clear": ("httpTrigger", "v3/data-driven-results/clear/{session_id}", ["DELETE"], "FUNCTION"),
    "medallion_verify": ("httpTrigger", "medallion/verify", ["POST"], "FUNCTION"),
    "medallion_refresh": ("httpTrigger", "medallion/refresh", ["POST"], "FUNCTION"),
    "medallion_health": ("httpTrigger", "medallion/health", ["GET"], "FUNCTION"),
    "medallion_verify_nightly": ("timerTrigger", "%SCOUT_MEDALLION_VERIFY_SCHEDULE%", None, None),
    "medallion_refresh_timer": ("timerTrigger", "%SCOUT_MEDALLION_REFRESH_SCHEDULE%", None, None),
    "registry_consolidate": ("httpTrigger", "registry/personas/consolidate", ["POST"], "FUNCTION"),
    "registry_compare": ("httpTrigger", "registry/personas/compare", ["POST"], "FUNCTION"),
    "registry_sync": ("httpTrigger", "registry/personas/sync", ["POST"], "FUNCTION"),
    "registry_sync_timer": ("timerTrigger", "%SCOUT_PERSONAS_SYNC_SCHEDULE%", None, None),
    "targeting_match": ("httpTrigger", "targeting/match", ["POST"], "FUNCTION"),
    "targeting_match_timer": ("timerTrigger", "%SCOUT_TARGETING_SCHEDULE%", None, None),
    "targeting_recommendations": ("httpTrigger", "targeting/recommendations", ["GET"], "FUNCTION"),
    "targeting_performance": ("httpTrigger", "targeting/performance", ["GET"], "FUNCTION"),
}

# Packages (and all their sub-modules) a cold start must not import.
HEAVY = (
    "duckdb",
    "pandas",
    "numpy",
    "pyodbc",
    "sqlglot",
    "matplotlib",
    "pyarrow",
    "azure.storage",
    "azure.identity",
    "azure.keyvault",
)

# What the Python worker does (azure-functions-python-worker, loader.index_function_app and
# process_indexed_function): with the app folder on sys.path, import the module named after the
# script file's stem, look through ``module.__dir__()`` for exactly one FunctionRegister (more than
# one is an error), call get_functions(), and send each function's get_raw_bindings() to the host.
# The worker's registry also checks that every parameter of the user function is a binding.
INDEXER = r"""
import importlib, inspect, json, pathlib, sys
function_path = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(function_path.parent))
module = importlib.import_module(function_path.stem)
from azure.functions import FunctionRegister
apps = [getattr(module, n, None) for n in module.__dir__()]
apps = [a for a in apps if isinstance(a, FunctionRegister)]
assert len(apps) == 1, f"{len(apps)} FunctionRegister instances at top level"
out = {}
for f in apps[0].get_functions():
    raw = [json.loads(b) for b in f.get_raw_bindings()]
    params = list(inspect.signature(f.get_user_function()).parameters)
    out[f.get_function_name()] = {"bindings": raw, "params": params,
                                  "trigger": f.get_trigger().get_binding_name() if f.get_trigger() else None}
heavy = sorted({h for h in HEAVY for m in sys.modules if m == h or m.startswith(h + ".")})
print(json.dumps({"functions": out, "heavy": heavy}))
""".replace("HEAVY", repr(HEAVY))


def index_like_the_host() -> dict:
    """Index function_app.py from its file path in a fresh interpreter with an empty environment (only PATH)."""
    done = subprocess.run(
        [sys.executable, "-c", INDEXER, str(ROOT / "function_app.py")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def summarize(function: dict) -> tuple:
    trigger = next(b for b in function["bindings"] if b["type"].endswith("Trigger"))
    where = trigger.get("route") or trigger.get("queueName") or trigger.get("schedule")
    return trigger["type"], where, trigger.get("methods"), trigger.get("authLevel")


def test_the_host_indexes_every_function_with_its_trigger_route_and_auth_level():
    indexed = index_like_the_host()["functions"]
    assert {name: summarize(f) for name, f in indexed.items()} == EXPECTED


def test_indexing_imports_nothing_heavy():
    assert index_like_the_host()["heavy"] == []


def test_every_parameter_of_a_function_is_bound_or_the_context():
    for name, function in index_like_the_host()["functions"].items():
        bound = {b["name"] for b in function["bindings"]} | {"context"}
        assert set(function["params"]) <= bound, name


def test_mutating_endpoints_are_never_anonymous():
    for name, (trigger, _, methods, auth) in EXPECTED.items():
        if trigger == "httpTrigger" and set(methods) - {"GET"}:
            assert auth in ("FUNCTION", "ADMIN"), name


def test_timers_use_the_schedule_monitor_and_do_not_run_on_startup():
    for name, function in index_like_the_host()["functions"].items():
        for binding in function["bindings"]:
            if binding["type"] == "timerTrigger":
                assert binding.get("useMonitor") is True and binding.get("runOnStartup") is False, name
