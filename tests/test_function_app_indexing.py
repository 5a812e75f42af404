"""The Functions host indexes function_app.py exactly like this; if it can't, the app loads 0 functions
and every route 404s. So: index it in a fresh process with no settings at all, and list every function."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Every function of the product: name -> (trigger, route or queue/schedule, methods, auth level).
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
}

HEAVY = ("duckdb", "pandas", "numpy", "pyodbc", "sqlglot", "matplotlib", "pyarrow",
         "azure.storage.blob", "azure.storage.queue", "azure.identity", "azure.keyvault.secrets")

# What the Python worker does (azure_functions_worker.loader.index_function_app and
# process_indexed_function): import the script's module by name from the app folder, find the one
# FunctionRegister instance, get_functions(), then read each function's bindings and raw bindings.
INDEXER = r"""
import importlib, inspect, json, sys
sys.path.insert(0, sys.argv[1])
module = importlib.import_module("function_app")
from azure.functions import FunctionRegister
apps = [getattr(module, n) for n in dir(module) if isinstance(getattr(module, n), FunctionRegister)]
assert len(apps) == 1, f"{len(apps)} FunctionRegister instances"
out = {}
for f in apps[0].get_functions():
    raw = [json.loads(b) for b in f.get_raw_bindings()]
    params = list(inspect.signature(f.get_user_function()).parameters)
    out[f.get_function_name()] = {"bindings": raw, "params": params,
                                  "trigger": f.get_trigger().get_binding_name() if f.get_trigger() else None}
print(json.dumps({"functions": out, "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
""".replace("HEAVY", repr(HEAVY))


def index_like_the_host() -> dict:
    done = subprocess.run([sys.executable, "-c", INDEXER, str(ROOT)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, cwd="/", timeout=60)
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
