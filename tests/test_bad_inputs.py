"""Bad inputs, as a hostile user (or a careless script) sends them: every one is answered as the caller's
mistake — CLI exit 2 with one line on stderr, HTTP 400 with a JSON message — never a traceback or a 500, and
never after something was deleted, written or recorded.

One seeded database serves every case; each case compares the row counts of every table before and after,
so a case that deleted or recorded anything fails by name. The CLI runs in-process (``scout.cli.main``, as
``python -m scout`` does; a few also as a real process), HTTP through the app's real function handlers.

Cases another part of the code answers have their owner named: the tally counts them apart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from scout.cli import main
from scout.config import Settings
from scout.db import connect
from tests.conftest import call_http

TABLES = (
    "dbo.Stores",
    "dbo.Transactions",
    "dbo.TransactionItems",
    "dbo.SalesInteractions",
    "dbo.v_insight_base",
    "ref.persona_rules",
    "ref.transaction_personas",
    "ref.transaction_baskets",
    "ops.job_runs",
    "ops.migration_history",
    "results.montecarlo_runs",
    "results.montecarlo_partials",
    "results.generation_status",
    "results.segment_results",
    "results.scenarios",
)
TRANSACTIONS = 150

EXPORTS = "exports helper (scout/exports/*)"
JOBS_CLI = "leases helper (scout/jobs/cli.py)"
MONTECARLO_CLI = "leases helper (scout/montecarlo/cli.py)"


@dataclass(frozen=True)
class Case:
    id: str
    message: str | tuple[str, ...]  # a fragment of the one-line answer (or fragments, any of which)
    argv: tuple[str, ...] = ()  # CLI
    function: str = ""  # HTTP
    body: str | bytes = b""
    env: dict[str, str] = field(default_factory=dict)  # "{typo}" / "{tmp}" stand for a fresh folder's paths
    owner: str = ""  # set: another part of the code answers it (counted apart in the tally)


def cli(id: str, message: str, *argv: str, env: dict[str, str] | None = None, owner: str = "") -> Case:
    return Case(id, message, argv=argv, env=env or {}, owner=owner)


def http(id: str, function: str, body: str | bytes, message: str | tuple[str, ...], owner: str = "") -> Case:
    return Case(id, message, function=function, body=body, owner=owner)


TYPO = {"SCOUT_DATABASE_URL": "duckdb:///{tmp}/scuot.duckdb"}
NO_DB = "no database at"
BIG = str(10**30)

CLI_CASES = [
    # demo seed: checked before the old rows are deleted and before the run is recorded
    cli(
        "seed-negative-seed-replace",
        "--seed must be a whole number",
        "demo",
        "seed",
        "--transactions",
        "10",
        "--seed",
        "-1",
        "--replace",
    ),
    cli("seed-seed-2**63", "--seed must be a whole number", "demo", "seed", "--seed", str(2**63), "--replace"),
    cli("seed-huge-seed", "--seed must be a whole number", "demo", "seed", "--seed", BIG, "--replace"),
    cli("seed-zero-transactions", "--transactions must be", "demo", "seed", "--transactions", "0", "--replace"),
    cli("seed-negative-transactions", "--transactions must be", "demo", "seed", "--transactions", "-5", "--replace"),
    cli(
        "seed-too-many-transactions",
        "--transactions must be",
        "demo",
        "seed",
        "--transactions",
        "20000001",
        "--replace",
    ),
    cli("seed-huge-transactions", "--transactions must be", "demo", "seed", "--transactions", BIG, "--replace"),
    cli("seed-filled-without-replace", "use --replace", "demo", "seed", "--transactions", "10"),
    cli("seed-transactions-text", "invalid int value", "demo", "seed", "--transactions", "abc", "--replace"),
    cli("seed-transactions-float", "invalid int value", "demo", "seed", "--transactions", "1e3", "--replace"),
    cli("seed-seed-empty", "invalid int value", "demo", "seed", "--seed", "", "--replace"),
    cli("seed-seed-fraction", "invalid int value", "demo", "seed", "--seed", "1.5", "--replace"),
    cli("seed-unknown-option", "unrecognized arguments", "demo", "seed", "--replace", "--wipe-everything"),
    # migrations: versions are checked against the files before the run is recorded
    cli("apply-unknown-target", "target version 999 has no V999__*.sql file", "migrate", "apply", "--target", "999"),
    cli("apply-target-words", "target must be a version", "migrate", "apply", "--target", "v-two"),
    cli("apply-target-empty", "target must be a version", "migrate", "apply", "--target", ""),
    cli("apply-target-blank", "target must be a version", "migrate", "apply", "--target", "   "),
    cli("apply-target-5000-digits", "target must be a version", "migrate", "apply", "--target", "9" * 5000),
    cli("apply-target-negative", "target must be a version", "migrate", "apply", "--target", "-1"),
    cli("apply-target-double-dot", "target must be a version", "migrate", "apply", "--target", "1..2"),
    cli("apply-target-fullwidth-digit", "target must be a version", "migrate", "apply", "--target", "３"),
    cli("apply-target-with-description", "target must be a version", "migrate", "apply", "--target", "3__x"),
    cli("apply-target-sql", "target must be a version", "migrate", "apply", "--target", "1;DROP TABLE ops.job_runs"),
    cli("apply-target-undecodable-bytes", "target must be a version", "migrate", "apply", "--target", "\udcff"),
    cli("undo-unknown-target", "target version 999 has no V999__*.sql file", "migrate", "undo", "--target", "999"),
    cli("undo-target-words", "target must be a version", "migrate", "undo", "--target", "x"),
    cli("undo-without-target", "required: --target", "migrate", "undo"),
    cli("baseline-unknown-version", "baseline version 999 has no", "migrate", "baseline", "--version", "999"),
    cli("baseline-empty-version", "version must be a version", "migrate", "baseline", "--version", ""),
    cli("migrate-unknown-command", "invalid choice", "migrate", "bogus"),
    # settings: checked when read, before anything connects
    *[
        cli(
            f"memory-limit-{i}", "SCOUT_DUCKDB_MEMORY_LIMIT", "migrate", "apply", env={"SCOUT_DUCKDB_MEMORY_LIMIT": raw}
        )
        for i, raw in enumerate(["abc", "-1GB", "0MB", "8MB", "1GB'; DROP TABLE x; --", "10PB", "512", "１GB"])
    ],
    *[
        cli(
            f"lock-timeout-{raw}",
            "SCOUT_LOCK_TIMEOUT_SECONDS",
            "migrate",
            "apply",
            env={"SCOUT_LOCK_TIMEOUT_SECONDS": raw},
        )
        for raw in ["nan", "inf", "-1", "0", "1e400", "abc"]
    ],
    *[
        cli(f"lease-{raw}", "SCOUT_RUN_LEASE_SECONDS", "jobs", "list", env={"SCOUT_RUN_LEASE_SECONDS": raw})
        for raw in ["0", "NaN", "-inf"]
    ],
    *[
        cli(f"retry-attempts-{raw[:8]}", "SCOUT_RETRY_ATTEMPTS", "jobs", "list", env={"SCOUT_RETRY_ATTEMPTS": raw})
        for raw in ["0", "1.5", BIG]
    ],
    cli(
        "retry-first-wait-negative",
        "SCOUT_RETRY_FIRST_WAIT_SECONDS",
        "jobs",
        "list",
        env={"SCOUT_RETRY_FIRST_WAIT_SECONDS": "-1"},
    ),
    cli(
        "retry-max-wait-inf",
        "SCOUT_RETRY_MAX_WAIT_SECONDS",
        "jobs",
        "list",
        env={"SCOUT_RETRY_MAX_WAIT_SECONDS": "inf"},
    ),
    cli(
        "secret-cache-negative", "SCOUT_SECRET_CACHE_SECONDS", "jobs", "list", env={"SCOUT_SECRET_CACHE_SECONDS": "-5"}
    ),
    cli("sql-auth-unknown", "SCOUT_SQL_AUTH", "jobs", "list", env={"SCOUT_SQL_AUTH": "kerberos"}),
    cli("database-url-postgres", "SCOUT_DATABASE_URL", "jobs", "list", env={"SCOUT_DATABASE_URL": "postgres://x/y"}),
    cli("database-url-no-path", "SCOUT_DATABASE_URL", "jobs", "list", env={"SCOUT_DATABASE_URL": "duckdb:///"}),
    cli(
        "database-url-credentials",
        "must not carry credentials",
        "jobs",
        "list",
        env={"SCOUT_DATABASE_URL": "mssql://sa:secret@db.example/scout"},
    ),
    cli("database-url-folder", "is a folder", "migrate", "apply", env={"SCOUT_DATABASE_URL": "duckdb:///{tmp}"}),
    cli(
        "database-url-under-a-file",
        "cannot create the folder",
        "migrate",
        "apply",
        env={"SCOUT_DATABASE_URL": "duckdb:///{tmp}/plain/scout.duckdb"},
    ),
    cli(
        "migrations-dir-missing",
        "SCOUT_MIGRATIONS_DIR",
        "migrate",
        "status",
        env={"SCOUT_MIGRATIONS_DIR": "{tmp}/no-such-folder"},
    ),
    # a database path nobody created: said so, and not created
    *[
        cli(f"typo-{'-'.join(argv[:2])}", NO_DB, *argv, env=TYPO)
        for argv in [
            ("jobs", "list"),
            ("jobs", "show", "00000000-0000-0000-0000-000000000000"),
            ("migrate", "status"),
            ("migrate", "verify"),
            ("migrate", "undo", "--target", "0"),
            ("migrate", "baseline", "--version", "1"),
            ("personas", "infer"),
            ("demo", "seed"),
            ("montecarlo", "show", "x"),
            ("montecarlo", "run"),
            ("export", "flat"),
        ]
    ],
    # a file DuckDB would name like one of our schemas
    *[
        cli(
            f"file-named-{name}",
            "collides with the schema",
            "migrate",
            "apply",
            env={"SCOUT_DATABASE_URL": "duckdb:///{tmp}/" + name},
        )
        for name in [
            "results.duckdb",
            "ref",
            "dbo.duckdb",
            "ops.db",
            "RESULTS.duckdb",
            "..ops.duckdb",
            "information_schema.duckdb",
        ]
    ],
    # a scenario: checked before the run exists
    cli("mc-iterations-0", "iterations must be between", "montecarlo", "run", "--iterations", "0"),
    cli("mc-iterations-too-many", "iterations must be between", "montecarlo", "run", "--iterations", "1000001"),
    cli("mc-iterations-huge", "iterations must be between", "montecarlo", "run", "--iterations", BIG),
    cli("mc-horizon-0", "horizon_days must be at least 1", "montecarlo", "run", "--horizon-days", "0"),
    cli("mc-horizon-367", "horizon_days must be between", "montecarlo", "run", "--horizon-days", "367"),
    cli("mc-seed-negative", "seed must be between", "montecarlo", "run", "--seed", "-1"),
    cli("mc-batches-0", "batches must be between", "montecarlo", "run", "--batches", "0"),
    cli("mc-batches-101", "batches must be between", "montecarlo", "run", "--batches", "101"),
    cli(
        "mc-price-change-nan", "price_change_pct must be a finite number", "montecarlo", "run", "--price-change", "nan"
    ),
    cli(
        "mc-price-change-inf", "price_change_pct must be a finite number", "montecarlo", "run", "--price-change", "inf"
    ),
    cli("mc-elasticity-1e309", "elasticity must be a finite number", "montecarlo", "run", "--elasticity", "1e309"),
    cli("mc-promo-uplift-low", "promo_uplift_pct must be between", "montecarlo", "run", "--promo-uplift", "-101"),
    cli("mc-store-change-high", "store_change must be between", "montecarlo", "run", "--store-change", "10001"),
    cli("mc-target-negative", "target must be between", "montecarlo", "run", "--target", "-1"),
    cli("mc-target-nan", "target must be a finite number", "montecarlo", "run", "--target", "nan"),
    cli("mc-segment-unknown-key", "unknown segment key", "montecarlo", "run", "--segment", "planet=Mars"),
    cli("mc-iterations-text", "invalid int value", "montecarlo", "run", "--iterations", "many"),
    # answered by other parts (their owners are working on them)
    cli("export-out-ftp", "", "export", "flat", "--out", "ftp://x", owner=EXPORTS),
    cli("export-out-under-dev-null", "", "export", "flat", "--out", "/dev/null/x", owner=EXPORTS),
    cli("export-limit-10**30", "", "export", "flat", "--limit", BIG, owner=EXPORTS),
    cli("export-format-xml", "", "export", "flat", "--format", "xml", owner=EXPORTS),
    cli("jobs-list-limit-negative", "", "jobs", "list", "--limit", "-1", owner=JOBS_CLI),
    cli("jobs-list-limit-huge", "", "jobs", "list", "--limit", BIG, owner=JOBS_CLI),
    cli("mc-segment-without-value", "", "montecarlo", "run", "--segment", "region", owner=MONTECARLO_CLI),
]

DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"a":' * 100_000
OVERSIZED = '{"target": "' + " " * 1_000_001 + '"}'
MIGRATIONS_BODIES = [
    ("deep-array", DEEP_ARRAY, "nested deeper than"),
    ("deep-object", DEEP_OBJECT, "nested deeper than"),
    ("target-nan", '{"target": NaN}', "numbers must be finite"),
    ("target-infinity", '{"target": Infinity}', "numbers must be finite"),
    ("target-minus-infinity", '{"target": -Infinity}', "numbers must be finite"),
    ("target-1e400", '{"target": 1e400}', "beyond the range"),
    ("target-unknown-text", '{"target": "999"}', "target version 999 has no V999__*.sql file"),
    ("target-unknown-number", '{"target": 999}', "target version 999 has no V999__*.sql file"),
    ("target-10**30", '{"target": ' + BIG + "}", "target must be a version"),
    ("target-negative", '{"target": -1}', "target must be a version"),
    ("target-empty", '{"target": ""}', "target must be a version"),
    ("target-blank", '{"target": "   "}', "target must be a version"),
    ("target-5000-digits", '{"target": "' + "9" * 5000 + '"}', "target must be a version"),
    ("target-5000-digit-number", '{"target": 1' + "0" * 5000 + "}", "not valid JSON"),
    ("target-fullwidth", '{"target": "\\uff13"}', "target must be a version"),
    ("target-lone-surrogate", '{"target": "\\ud800"}', "not valid Unicode"),
    ("target-nul", '{"target": "1\\u0000"}', "target must be a version"),
    ("target-list", '{"target": [1]}', "field target must be str or int"),
    ("target-object", '{"target": {"v": 1}}', "field target must be str or int"),
    ("target-fraction", '{"target": 1.5}', "field target must be str or int"),
    ("target-bool", '{"target": true}', "field target has the wrong type"),
    ("dry-run-text", '{"dry_run": "yes"}', "field dry_run must be bool"),
    ("dry-run-number", '{"dry_run": 1}', "field dry_run must be bool"),
    ("dry-run-nan", '{"dry_run": NaN}', "numbers must be finite"),
    ("duplicate-field", '{"dry_run": true, "dry_run": false}', "field dry_run is given twice"),
    ("unknown-field-case", '{"Target": "1"}', "unknown field(s): Target"),
    ("unknown-long-field", '{"' + "k" * 1000 + '": 1}', "unknown field(s): kkk"),
    ("too-deep-field", '{"target": "1", "x": ' + "[" * 25 + "]" * 25 + "}", "nested deeper than 20"),
    ("oversized", OVERSIZED, "larger than 1,000,000 bytes"),
    ("text", '"just text"', "must be a JSON object"),
    ("number", "42", "must be a JSON object"),
    ("null", "null", "must be a JSON object"),
    ("true", "true", "must be a JSON object"),
    ("array", "[]", "must be a JSON object"),
    ("broken", "{not json", "not valid JSON"),
    ("undecodable-bytes", b"\xff\xfe\x00{", "not valid JSON"),
    ("trailing-data", '{"target": "1"} {"target": "2"}', "not valid JSON"),
]
PERSONAS_BODIES = [
    ("deep-array", DEEP_ARRAY, "nested deeper than"),
    ("full-nan", '{"full": NaN}', "numbers must be finite"),
    ("full-text", '{"full": "yes"}', "field full must be bool"),
    ("full-number", '{"full": 1}', "field full must be bool"),
    ("unknown-field", '{"full": null, "rules": []}', "unknown field(s): rules"),
    ("oversized", '{"full": true, "pad": "' + " " * 1_000_001 + '"}', "larger than"),
    ("array", "[true]", "must be a JSON object"),
]
EXPORTS_BODIES = [
    ("limit-nan", '{"limit": NaN}', "numbers must be finite"),
    ("limit-infinity", '{"limit": Infinity}', "numbers must be finite"),
    ("limit-1e400", '{"limit": 1e400}', "beyond the range"),
    ("limit-fraction", '{"limit": 1.5}', "field limit must be int"),
    ("limit-bool", '{"limit": true}', "field limit has the wrong type"),
    ("format-number", '{"format": 5}', "field format must be str or list"),
    ("full-text", '{"full": "no"}', "field full must be bool"),
    ("duplicate-limit", '{"limit": 1, "limit": 2}', "field limit is given twice"),
    ("deep-array", DEEP_ARRAY, "nested deeper than"),
]
SCENARIO_BODIES = [
    # refused by the body's parser (scout.functions.http.json_object), else by parse_scenario
    *[
        (
            f"{name}-{const.lower()}",
            f'{{"{name}": {const}}}',
            ("numbers must be finite", f"{name} must be a finite number"),
        )
        for name in ("iterations", "horizon_days", "seed", "store_change", "price_change_pct", "elasticity", "target")
        for const in ("NaN", "Infinity", "-Infinity")
    ],
    ("iterations-1e400", '{"iterations": 1e400}', ("beyond the range", "iterations must be a finite number")),
    ("iterations-bool", '{"iterations": true}', "iterations must be an integer"),
    ("iterations-text", '{"iterations": "1000"}', "iterations must be an integer"),
    ("iterations-fraction", '{"iterations": 1.5}', "iterations must be an integer"),
    ("iterations-0", '{"iterations": 0}', "iterations must be between"),
    ("iterations-too-many", '{"iterations": 1000001}', "iterations must be between"),
    ("iterations-10**30", '{"iterations": ' + BIG + "}", "iterations must be between"),
    ("horizon-0", '{"horizon_days": 0}', "horizon_days must be at least 1"),
    ("horizon-367", '{"horizon_days": 367}', "horizon_days must be between"),
    ("seed-negative", '{"seed": -1}', "seed must be between"),
    ("seed-2**64", '{"seed": ' + str(2**64) + "}", "seed must be between"),
    ("batches-0", '{"batches": 0}', "batches must be between"),
    ("batches-101", '{"batches": 101}', "batches must be between"),
    ("batches-almost-whole", '{"batches": 4.0000001}', "batches must be an integer"),
    ("price-change-low", '{"price_change_pct": -91}', "price_change_pct must be between"),
    ("elasticity-high", '{"elasticity": 11}', "elasticity must be between"),
    ("promo-uplift-high", '{"promo_uplift_pct": 1001}', "promo_uplift_pct must be between"),
    ("store-change-high", '{"store_change": 10001}', "store_change must be between"),
    ("target-negative", '{"target": -1}', "target must be between"),
    ("target-1e16", '{"target": 1e16}', "target must be between"),
    ("segment-list", '{"segment": [1]}', "segment must be an object"),
    ("segment-text", '{"segment": "NCR"}', "segment must be an object"),
    ("segment-empty-text", '{"segment": ""}', "segment must be an object"),
    ("segment-unknown-key", '{"segment": {"planet": "Mars"}}', "unknown segment key(s): 'planet'"),
    ("segment-bool", '{"segment": {"region": true}}', "segment region must be text"),
    ("segment-empty", '{"segment": {"region": ""}}', "segment region must not be empty"),
    ("segment-blank", '{"segment": {"region": "   "}}', "segment region must not be empty"),
    ("segment-long", '{"segment": {"region": "' + "x" * 201 + '"}}', "at most 200 characters"),
    ("segment-lone-surrogate", '{"segment": {"region": "\\ud800"}}', "not valid Unicode"),
    ("segment-negative-store", '{"segment": {"store": -1}}', "segment store must be text or a store number"),
    ("segment-list-value", '{"segment": {"region": ["NCR"]}}', "segment region must be text"),
    ("segment-null-value", '{"segment": {"region": null}}', "segment region must be text"),
    ("name-number", '{"name": 5}', "name must be text"),
    ("name-long", '{"name": "' + "x" * 101 + '"}', "name must be text of at most 100"),
    ("name-lone-surrogate", '{"name": "\\udfff"}', "not valid Unicode"),
    ("unknown-field", '{"bogus": 1}', "unknown field(s): bogus"),
    ("array", "[]", "must be a JSON object"),
    ("text", '"scenario"', "must be a JSON object"),
    ("deep-array", DEEP_ARRAY, "nested deeper than"),
    ("deep-object", DEEP_OBJECT, "nested deeper than"),
    ("oversized", '{"name": "x"}' + " " * 1_000_001, "larger than 1,000,000 bytes"),
    ("duplicate-field", '{"iterations": 5, "iterations": 6}', "field iterations is given twice"),
]
HTTP_CASES = [
    *[http(f"migrations-apply-{id}", "migrations_apply", body, message) for id, body, message in MIGRATIONS_BODIES],
    *[http(f"personas-infer-{id}", "personas_infer", body, message) for id, body, message in PERSONAS_BODIES],
    *[http(f"exports-flat-{id}", "exports_flat", body, message) for id, body, message in EXPORTS_BODIES],
    *[http(f"montecarlo-start-{id}", "montecarlo_start", body, message) for id, body, message in SCENARIO_BODIES],
    # answered by other parts
    http("exports-flat-limit-10**30", "exports_flat", '{"limit": ' + BIG + "}", "", owner=EXPORTS),
    http("exports-flat-limit-negative", "exports_flat", '{"limit": -1}', "", owner=EXPORTS),
    http("exports-flat-format-xml", "exports_flat", '{"format": "xml"}', "", owner=EXPORTS),
]

#: What the cases answered, for the closing line (collected as they run).
TALLY = {"cli": 0, "http": 0, "others_cli": 0, "others_http": 0, "500": 0, "others_500": 0}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> str:
    """One migrated database with demo data, shared by every case (each checks it is left as it was)."""
    from scout.demo import job as demo
    from scout.migrations import job as migrations

    url = f"duckdb:///{tmp_path_factory.mktemp('bad-inputs') / 'scout.duckdb'}"
    settings = Settings.from_env({"SCOUT_DATABASE_URL": url})
    migrations.apply(trigger="cli", settings=settings)
    demo.seed(trigger="cli", transactions=TRANSACTIONS, seed=5, settings=settings)
    return url


@pytest.fixture(scope="module", autouse=True)
def tally(request):
    yield TALLY
    mine, others = TALLY["cli"] + TALLY["http"], TALLY["others_cli"] + TALLY["others_http"]
    line = (
        f"bad inputs tried: {mine + others} ({TALLY['cli'] + TALLY['others_cli']} CLI, "
        f"{TALLY['http'] + TALLY['others_http']} HTTP); {TALLY['500']} of the {mine} in this part answered 500; "
        f"{others} answered by other parts, {TALLY['others_500']} of them 500"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)


@pytest.fixture
def database(seeded, clean_environment, monkeypatch) -> str:
    monkeypatch.setenv("SCOUT_DATABASE_URL", seeded)
    return seeded


def snapshot(url: str) -> dict[str, int]:
    with connect(Settings.from_env({"SCOUT_DATABASE_URL": url})) as db:
        return {table: db.query_one(f"SELECT COUNT(*) FROM {table}")[0] for table in TABLES}


def with_owner(cases: list[Case]) -> list:
    return [pytest.param(c, id=c.id) for c in cases]


def fragments(case: Case) -> tuple[str, ...]:
    return case.message if isinstance(case.message, tuple) else (case.message,)


def run_cli(argv: tuple[str, ...], capsys) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses before main's own handling
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", with_owner(CLI_CASES))
def test_a_bad_command_line_is_exit_2_with_one_line_and_changes_nothing(case, database, tmp_path, monkeypatch, capsys):
    (tmp_path / "plain").write_text("a file, not a folder")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    before = snapshot(database)
    files_before = sorted(tmp_path.rglob("*"))
    TALLY["others_cli" if case.owner else "cli"] += 1

    code, out, err = run_cli(case.argv, capsys)

    if code not in (0, 2):
        TALLY["others_500" if case.owner else "500"] += 1
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(("scout: ", "usage: ")) and "Traceback" not in err
    assert any(fragment in err for fragment in fragments(case))
    assert out == ""
    assert snapshot(database) == before  # nothing deleted, written or recorded
    assert sorted(tmp_path.rglob("*")) == files_before  # no database file (or folder) created


@pytest.mark.parametrize("case", with_owner(HTTP_CASES))
def test_a_bad_request_body_is_a_400_with_a_json_message_and_changes_nothing(case, database, functions):
    before = snapshot(database)
    TALLY["others_http" if case.owner else "http"] += 1

    status, body, response = call_http(functions, case.function, "POST", body=case.body)

    if status >= 500:
        TALLY["others_500" if case.owner else "500"] += 1
    assert (status, response.mimetype) == (400, "application/json"), body
    assert body["error"] == "invalid_input" and any(fragment in body["message"] for fragment in fragments(case))
    assert "\n" not in body["message"] and len(body["message"]) < 500
    assert snapshot(database) == before


@pytest.mark.parametrize(
    "argv, env, message",
    [
        (("demo", "seed", "--transactions", "10", "--seed", "-1", "--replace"), {}, "--seed must be"),
        (("migrate", "apply", "--target", "999"), {}, "target version 999 has no"),
        (("jobs", "list"), {"SCOUT_DUCKDB_MEMORY_LIMIT": "abc"}, "SCOUT_DUCKDB_MEMORY_LIMIT"),
        (("jobs", "list"), {"SCOUT_LOCK_TIMEOUT_SECONDS": "nan"}, "SCOUT_LOCK_TIMEOUT_SECONDS"),
    ],
    ids=["bad-seed", "unknown-target", "memory-limit", "lock-timeout-nan"],
)
def test_the_real_command_answers_the_same(database, argv, env, message):
    before = snapshot(database)
    done = subprocess.run(
        [sys.executable, "-m", "scout", *argv, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    TALLY["cli"] += 1

    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr
    assert json.loads(done.stdout)["error"] in ("invalid_input", "configuration_error")
    assert snapshot(database) == before


def test_the_shared_database_still_holds_the_seed_and_only_the_runs_that_built_it(database):
    """The cases ran against real data, and none of them was recorded as a run."""
    counts = snapshot(database)
    assert counts["dbo.Transactions"] == TRANSACTIONS and counts["results.montecarlo_runs"] == 0
    with connect(Settings.from_env()) as db:
        assert sorted(db.query("SELECT job, status FROM ops.job_runs")) == [
            ("demo.seed", "succeeded"),
            ("migrations.apply", "succeeded"),
        ]


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"iterations": float("nan")}, "iterations must be a finite number"),
        ({"horizon_days": float("inf")}, "horizon_days must be a finite number"),
        ({"seed": float("-inf")}, "seed must be a finite number"),
        ({"store_change": float("nan")}, "store_change must be a finite number"),
        ({"iterations": True}, "iterations must be an integer"),
        ({"segment": {"region": "\ud800"}}, "segment region is not valid Unicode"),
        ({"name": "\udfff"}, "name is not valid Unicode"),
        (["iterations", 5], "a scenario must be a JSON object"),
    ],
)
def test_a_scenario_from_anywhere_is_checked_the_same(raw, message):
    """Scenarios also come from results.scenarios and SCOUT_MONTECARLO_STANDING_SCENARIOS, not only HTTP."""
    from scout.errors import InvalidInput
    from scout.montecarlo.scenario import parse_scenario

    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse_scenario(raw)
