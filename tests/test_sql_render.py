"""``scout sql render``: every statement the app can send, one file each, named after the code that sends
it; every runtime statement passes the same T-SQL lint as the migrations; DuckDB-only SQL lives only in
code that runs only on DuckDB."""

from __future__ import annotations

import ast
import re
import threading
from pathlib import Path

import pytest

from scout.cli import main

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(r"^-- sent by (?P<sender>[\w.]+)\n")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """One mssql render for the module: (the result, the folder)."""
    from scout.sql.render import render

    out = tmp_path_factory.mktemp("rendered-mssql")
    return render("mssql", out), out


def files(out: Path, kind: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((out / kind).glob("*.sql"))}


def body(text: str, kind: str = "runtime") -> str:
    """The statement of a rendered file: what follows render's comment lines (who sends it; for a migration
    batch or a backend statement also which one it is)."""
    return text.split("\n", 1 if kind == "runtime" else 2)[-1].rstrip("\n")


def senders(out: Path) -> dict[str, list[str]]:
    """Sender -> the statements it sends, from the runtime file names."""
    found: dict[str, list[str]] = {}
    for name, text in files(out, "runtime").items():
        found.setdefault(name.rsplit(".", 2)[0], []).append(body(text))
    return found


# -- what is written ----------------------------------------------------------------------------------------


def test_each_file_says_which_code_sends_it(rendered: tuple[dict, Path]) -> None:
    result, out = rendered
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.sql"))
    assert written == sorted(result["paths"]) and len(written) == result["files"]
    assert result["counts"]["runtime"] > 50
    for path in written:
        header = HEADER.match((out / path).read_text(encoding="utf-8"))
        assert header, f"{path} does not start with '-- sent by <module.function>'"
        if path.startswith("runtime/"):  # runtime/<module>.<function>.<n>.sql
            name, number = path[len("runtime/") : -len(".sql")].rsplit(".", 1)
            assert header["sender"] == name and number.isdigit()
        elif path.startswith("migrations/"):  # the runner function that sends each batch (execute_native)
            assert header["sender"] == "scout.migrations.runner._run_migration"
        else:
            assert header["sender"].startswith("scout.db.mssql_backend.MssqlDatabase.")


def test_each_migration_batch_is_a_file_of_its_own(rendered: tuple[dict, Path]) -> None:
    from scout.migrations.files import discover

    _, out = rendered
    found = discover()
    expected = {
        f"{m.script[: -len('.sql')]}.batch{n}.sql": batch
        for m in (*found.versioned, *found.undo.values(), *found.repeatable)
        for n, batch in enumerate(m.batches, start=1)
    }
    written = files(out, "migrations")
    assert set(written) == set(expected)
    assert "V020__montecarlo_results.batch1.sql" in written and any(n.startswith("U") for n in written)
    assert all(written[name].endswith(batch.strip() + "\n") for name, batch in expected.items())


#: What the jobs must be seen sending: (what, the module that sends it, the statement). By module and shape
#: rather than by function, so that moving a statement into a helper of the same module keeps the check.
REQUIRED_STATEMENTS = [
    ("the export's first range read", "scout.exports.job", r"FROM dbo\.v_flat_export_sheet WHERE Transaction_ID < \?$"),
    (
        "the export's middle range read",
        "scout.exports.job",
        r"FROM dbo\.v_flat_export_sheet WHERE Transaction_ID >= \? AND Transaction_ID < \?$",
    ),
    ("the export's last range read", "scout.exports.job", r"FROM dbo\.v_flat_export_sheet WHERE Transaction_ID >= \?$"),
    ("the export with a limit", "scout.exports.job", r"^SELECT TOP \(100\) .* FROM dbo\.v_flat_export_sheet"),
    ("the export's base count", "scout.exports.job", r"SELECT COUNT\(\*\) FROM dbo\.Transactions"),
    ("range points as Azure SQL computes them", "scout.exports.ranges", r"ROW_NUMBER\(\) OVER"),
    ("basket summaries, per range", "scout.exports.baskets", r"INSERT INTO ref\.transaction_baskets"),
    ("the active persona rules", "scout.personas.rules", r"FROM ref\.persona_rules"),
    ("the persona evaluation (labels masked)", "scout.personas.evaluate", r"AS label_key .* AS part"),
    ("the signal matrix a fit searches on", "scout.personas.fit", r"SELECT canonical_tx_id, label, part, f1_explicit"),
    ("a fit stored for review", "scout.personas.fit", r"INSERT INTO ref\.persona_fits"),
    ("fitted weights written", "scout.personas.fit", r"UPDATE ref\.persona_weights SET weight = \?"),
    ("a calibration map written", "scout.personas.fit", r"INSERT INTO ref\.persona_calibration"),
    ("a fit undone", "scout.personas.fit", r"UPDATE ref\.persona_fits SET rolled_back_at"),
    ("inference with calibrated confidence", "scout.personas.job", r"CASE WHEN best_eligible >= -?\d+ THEN"),
    ("a Monte Carlo run recorded", "scout.montecarlo.runs", r"INSERT INTO results\.montecarlo_runs"),
    ("a batch's partial stored", "scout.montecarlo.runs", r"INSERT INTO results\.montecarlo_partials"),
    (
        "fan-in: the one combiner chosen",
        "scout.montecarlo.runs",
        r"UPDATE results\.montecarlo_runs SET status = 'combining'",
    ),
    (
        "fan-in: the partials read to combine",
        "scout.montecarlo.runs",
        r"FROM results\.montecarlo_partials WHERE run_id = \? ORDER BY batch",
    ),
    ("fan-in: the run completed", "scout.montecarlo.runs", r"UPDATE results\.montecarlo_runs SET status = 'completed'"),
    (
        "a poisoned batch fails its run",
        "scout.montecarlo.runs",
        r"UPDATE results\.montecarlo_runs SET status = 'failed'",
    ),
    ("a segment's history", "scout.montecarlo.scenario", r"DATEDIFF\(day, \?"),
    ("the standing scenarios", "scout.montecarlo.standing", r"FROM results\.scenarios"),
    ("a results session recorded", "scout.results.sessions", r"(INSERT INTO|MERGE) results\.generation_status"),
    ("a results session moved on", "scout.results.sessions", r"UPDATE results\.generation_status SET \[state\]"),
    ("a results session read", "scout.results.sessions", r"FROM results\.generation_status WHERE session_id = \?"),
    ("a session's segment written", "scout.results.sessions", r"INSERT INTO results\.segment_results"),
    ("a session's segments read", "scout.results.sessions", r"SELECT .*payload FROM results\.segment_results"),
    ("a session cleared", "scout.results.sessions", r"DELETE FROM results\.generation_status"),
    (
        "a topic's transactions for its factors",
        "scout.results.factors",
        r"DATEDIFF\(day, \?, CAST\(t\.txn_ts AS DATE\)\) AS day_index, t\.store_id",
    ),
    (
        "a topic's item lines for its factors",
        "scout.results.factors",
        r"FROM dbo\.TransactionItems AS i JOIN dbo\.Transactions AS t",
    ),
    ("the active pattern rules", "scout.results.patterns", r"FROM results\.pattern_rules WHERE is_active = 1"),
    ("a generation's factors stored", "scout.results.analysis", r"INSERT INTO results\.computed_factors"),
    ("a generation's pattern matches stored", "scout.results.analysis", r"INSERT INTO results\.pattern_matches"),
    ("a generation's rich content stored", "scout.results.analysis", r"INSERT INTO results\.segment_rich_content"),
    (
        "a generation's factors read",
        "scout.results.analysis",
        r"FROM results\.computed_factors WHERE session_id = \? AND generation = \?",
    ),
    (
        "matches re-evaluated under changed rules",
        "scout.results.analysis",
        r"DELETE FROM results\.pattern_matches WHERE session_id = \? AND generation = \?",
    ),
    (
        "a generation's analysis moving on",
        "scout.results.sessions",
        r"UPDATE results\.generation_status SET \[percent\] = \?, stage = \?",
    ),
    ("a job run started", "scout.jobs.runs", r"(INSERT INTO|MERGE) ops\.job_runs.*started_at"),
    ("a job run finished", "scout.jobs.runs", r"(UPDATE|MERGE) ops\.job_runs.*finished_at"),
    ("the job-run history", "scout.jobs.runs", r"^SELECT TOP 20 .* FROM ops\.job_runs ORDER BY started_at DESC"),
    ("one job's history", "scout.jobs.runs", r"FROM ops\.job_runs WHERE job = \? ORDER BY started_at DESC"),
    ("one job run", "scout.jobs.runs", r"FROM ops\.job_runs WHERE run_id = \?"),
    ("a migration recorded in the ledger", "scout.migrations.ledger", r"INSERT INTO ops\.migration_history"),
    (
        "a backfill batch's boundary (keyset)",
        "scout.medallion.backfill",
        r"SELECT TOP \(500\) id FROM legacy\.transactions WHERE id > \? ORDER BY id",
    ),
    (
        "a backfill batch copied",
        "scout.medallion.backfill",
        r"INSERT INTO silver\.transactions .* WHERE t\.id > \? AND t\.id <= \?",
    ),
    (
        "orphans kept aside with their reason",
        "scout.medallion.backfill",
        r"INSERT INTO silver\.orphans .*store_not_found",
    ),
    (
        "the backfill checkpoint moved",
        "scout.medallion.backfill",
        r"UPDATE ops\.medallion_checkpoints SET last_id = \?",
    ),
    ("verify: orphans by anti-join", "scout.medallion.verify", r"NOT EXISTS \(SELECT 1 FROM legacy\.geography AS g"),
    ("verify: the compatibility view read", "scout.medallion.verify", r"FROM legacy\.transactions ORDER BY id$"),
    (
        "contract: the legacy table kept aside",
        "scout.medallion.contract",
        r"CREATE TABLE legacy\.transactions_pre_medallion",
    ),
    (
        "contract: a view with the legacy name",
        "scout.medallion.contract",
        r"^CREATE VIEW legacy\.geography AS SELECT id, store_name, region, city, barangay FROM",
    ),
    (
        "rollback: the legacy table back",
        "scout.medallion.contract",
        r"INSERT INTO legacy\.transactions \(.*\) SELECT .* FROM legacy\.transactions_pre_medallion",
    ),
    ("gold: a day range rebuilt", "scout.medallion.gold", r"DELETE FROM gold\.daily_sales WHERE source_name = \?"),
    (
        "gold: brands from current ingestion",
        "scout.medallion.gold",
        r"INSERT INTO gold\.daily_sales .*N'ingestion', N'brand'",
    ),
    ("gold: the watermark moved", "scout.medallion.gold", r"INSERT INTO gold\.refresh_watermarks"),
    (
        "a segment's history from gold",
        "scout.montecarlo.scenario",
        r"FROM gold\.daily_sales WHERE source_name = N'ingestion'",
    ),
    ("registry: personas merged from both legacy tables", "scout.registry.job", r"MERGE INTO registry\.personas AS p"),
    ("registry: industry mappings", "scout.registry.job", r"MERGE INTO registry\.persona_industry_mapping"),
    ("registry: role mappings", "scout.registry.job", r"MERGE INTO registry\.persona_role_mapping"),
    ("registry: conflicts recorded", "scout.registry.job", r"MERGE INTO registry\.persona_conflicts"),
    ("registry: invalid JSON kept verbatim", "scout.registry.job", r"MERGE INTO registry\.persona_invalid_json"),
    ("registry: canonical JSON forms", "scout.registry.job", r"INSERT INTO registry\.json_forms"),
    (
        "compare: first pass per key range",
        "scout.registry.job",
        r"CAST\(SUBSTRING\(HASHBYTES\('SHA2_256', CONCAT_WS.*, 1, 7\) AS BIGINT\).*JOIN registry\.personas AS p"
        r".*FULL OUTER JOIN n ON n\.side = o\.side AND n\.rng = o\.rng",
    ),
    (
        "compare: row detail where ranges differ",
        "scout.registry.job",
        r"WITH sel AS .* IN \(\?.*GROUP BY column_name, kind",
    ),
    ("compare: recorded", "scout.registry.job", r"INSERT INTO registry\.compare_runs"),
    ("targeting: new people matched", "scout.targeting.job", r"CROSS JOIN rules AS r .*INSERT INTO registry\.targets"),
    (
        "targeting: strategies by relevance",
        "scout.targeting.job",
        r"ROW_NUMBER\(\) OVER \(PARTITION BY ps\.persona_unique_id",
    ),
    ("targeting: performance by persona", "scout.targeting.job", r"FROM registry\.v_campaign_performance_by_persona"),
]


def test_the_runtime_statements_cover_every_path_the_jobs_take(rendered: tuple[dict, Path]) -> None:
    """Render cannot silently lose a path: each of these is sent, by the module named."""
    sent = senders(rendered[1])
    persona = [
        s for s in sent.get("scout.personas.job.infer_in", []) if "ref.transaction_personas" in s and len(s) > 5000
    ]
    # compiled from the seeded rules, incremental and full; and incremental under fitted weights (personas.exercise)
    assert len(persona) == 3, "the persona statement: seeded rules incremental and full, fitted incremental"
    missing = [
        f"{what} ({module}: {pattern})"
        for what, module, pattern in REQUIRED_STATEMENTS
        if not any(
            re.search(pattern, " ".join(statement.split()))  # on one line, single spaces
            for sender, statements in sent.items()
            if sender.startswith(module + ".")
            for statement in statements
        )
    ]
    assert not missing, "not rendered:\n" + "\n".join(missing)


def test_no_statement_is_sent_twice_by_the_same_code(rendered: tuple[dict, Path]) -> None:
    for sender, statements in senders(rendered[1]).items():
        assert len(statements) == len(set(statements)), sender


# -- the same lint as the migrations ----------------------------------------------------------------------


def _errors(name: str, statement: str, *, portable: bool) -> list[str]:
    from scout.sql.lint import lint_batch

    return [str(e) for e in lint_batch(name, 1, statement, portable=portable) if e.is_error]


def test_every_runtime_statement_passes_the_portable_lint(rendered: tuple[dict, Path]) -> None:
    errors = [
        e
        for name, text in files(rendered[1], "runtime").items()
        for e in _errors(f"runtime/{name}", body(text), portable=True)
    ]
    assert not errors, "\n".join(errors)


def test_every_backend_statement_passes_the_lint_as_sql_server_only(rendered: tuple[dict, Path]) -> None:
    from scout.db.mssql_backend import BACKEND_STATEMENTS

    written = files(rendered[1], "backend")
    assert sorted(written) == sorted(f"{name}.sql" for name in BACKEND_STATEMENTS) and written
    errors = [
        e for name, text in written.items() for e in _errors(f"backend/{name}", body(text, "backend"), portable=False)
    ]
    assert not errors, "\n".join(errors)


def test_no_duckdb_only_statement_is_rendered(rendered: tuple[dict, Path]) -> None:
    """Render runs the jobs down Azure SQL's branches: DuckDB's own SQL (rowid, session settings) is not sent."""
    for name, text in files(rendered[1], "runtime").items():
        assert not re.search(r"\browid\b|preserve_insertion_order|_scout_seed", text, re.IGNORECASE), name


# -- the command --------------------------------------------------------------------------------------------


def test_render_is_deterministic_and_duckdb_gets_the_translation_of_the_same_statements(
    rendered: tuple[dict, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scout.db.translate import tsql_statement_to_duckdb, tsql_to_duckdb
    from scout.sql.render import render

    result, first = rendered
    again = tmp_path / "again"  # an earlier render's folder: a statement no longer sent, and a DBA's notes
    (again / "runtime").mkdir(parents=True)
    (again / "runtime" / "scout.gone.function.1.sql").write_text("-- sent by scout.gone.function\nSELECT 1\n")
    (again / "notes.txt").write_text("a DBA's notes")
    assert render("mssql", again)["paths"] == result["paths"]
    for path in result["paths"]:
        assert (again / path).read_bytes() == (first / path).read_bytes(), path
    assert not (again / "runtime" / "scout.gone.function.1.sql").exists()
    assert (again / "notes.txt").read_text() == "a DBA's notes"

    assert main(["sql", "render", "--engine", "duckdb", "--out", str(tmp_path / "duckdb")]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d+ files: migrations \d+, runtime \d+, backend 0 \(duckdb\) in .*", line)
    duck = tmp_path / "duckdb"
    assert not (duck / "backend").exists()
    for kind in ("migrations", "runtime"):
        tsql, translated = files(first, kind), files(duck, kind)
        assert sorted(translated) == sorted(tsql)
        for name, text in translated.items():
            expected = (
                ";\n".join(tsql_to_duckdb(body(tsql[name], kind))) + ";"
                if kind == "migrations"
                else tsql_statement_to_duckdb(body(tsql[name]))
            )
            assert body(text, kind) == expected, name
            assert text.split("\n", 1)[0] == tsql[name].split("\n", 1)[0]  # the same sender


def test_a_bad_engine_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sql", "render", "--engine", "oracle", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "scout: argument --engine: invalid choice: 'oracle' (choose from 'mssql', 'duckdb')"


def test_an_unwritable_folder_is_one_line_and_exit_2_before_any_job_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["sql", "render", "--out", str(blocker / "sql")]) == 2
    err = capsys.readouterr().err
    assert err == f"scout: cannot write to {blocker / 'sql'}: Not a directory\n"


# -- capturing ----------------------------------------------------------------------------------------------


def _send_from_a_helper(db) -> None:
    db.query_one("SELECT 2")


def test_capture_names_the_first_caller_outside_the_database_layer() -> None:
    from scout.db import base
    from scout.db.duckdb_backend import DuckDBDatabase
    from scout.sql.capture import recording

    with DuckDBDatabase(":memory:") as db:
        with recording() as recorder:
            db.query_one("SELECT 1")
            _send_from_a_helper(db)
            db.retry_transaction(lambda d: d.execute("SELECT 3"))  # a lambda counts as its function
            db.table_exists("dbo", "x")  # the base class's own query: sent on behalf of this test
            thread = threading.Thread(target=_send_from_a_helper, args=(db,))
            thread.start()
            thread.join()
        db.query_one("SELECT 4")  # after the block: not recorded
        assert base.statement_observers == []

    here = __name__ + ".test_capture_names_the_first_caller_outside_the_database_layer"
    assert [(s.sender, s.tsql) for s in recorder.sent] == [
        (here, "SELECT 1"),
        (f"{__name__}._send_from_a_helper", "SELECT 2"),
        (here, "SELECT 3"),
        (here, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"),
        (f"{__name__}._send_from_a_helper", "SELECT 2"),
    ]
    assert recorder.distinct()[f"{__name__}._send_from_a_helper"] == ["SELECT 2"]


# -- DuckDB-only SQL stays in DuckDB-only code --------------------------------------------------------------

#: Every use, outside scout/db, of what runs SQL past the portable interface, with why it may. A ``guarded``
#: use sits inside ``if <db>.dialect == "duckdb":``, or after a call that refuses any other engine (a
#: function of the same module that starts with ``if <db>.dialect != "duckdb": raise ...``).
DUCKDB_ONLY_USES = {
    ("scout/exports/job.py", "export_in", "execute_native"): (
        "guarded",
        "SET preserve_insertion_order is a DuckDB setting: rows may then stream in any order",
    ),
    ("scout/demo/seed.py", "write_table", "connection"): (
        "guarded",
        "the demo seed's Arrow bulk load: only the embedded DuckDB database is ever seeded",
    ),
    ("scout/migrations/runner.py", "_run_migration", "execute_native"): (
        "engine-native",
        "runs db.translate_batch(batch): the batch itself on Azure SQL, its translation on DuckDB",
    ),
    ("scout/exports/inspection.py", "count_ids", "duckdb.connect"): (
        "not-the-database",
        "an in-memory DuckDB reads the written Parquet file, on every engine; no app data",
    ),
}


def _dialect_test(test: ast.expr, op: type) -> bool:
    """``<x>.dialect == "duckdb"`` (op ast.Eq) or ``<x>.dialect != "duckdb"`` (op ast.NotEq)."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Attribute)
        and test.left.attr == "dialect"
        and len(test.ops) == 1
        and isinstance(test.ops[0], op)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "duckdb"
    )


def _refuses_other_engines(statement: ast.stmt) -> bool:
    """``if <x>.dialect != "duckdb": raise ...``"""
    return (
        isinstance(statement, ast.If)
        and _dialect_test(statement.test, ast.NotEq)
        and any(isinstance(s, ast.Raise) for s in statement.body)
    )


def _native_uses(tree: ast.Module) -> list[tuple[str, str, bool]]:
    """(function, what, guarded) for each execute_native / .connection / duckdb.connect use in a module."""
    guards = {
        f.name
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and f.body and any(_refuses_other_engines(s) for s in f.body[:2])
    }
    found: list[tuple[str, str, bool]] = []

    def calls_guard(statement: ast.stmt) -> bool:
        return _refuses_other_engines(statement) or any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in guards
            for n in ast.walk(statement)
        )

    def visit(node: ast.AST, function: str, guarded: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            guarded_from = next((i for i, s in enumerate(node.body) if calls_guard(s)), len(node.body))
            for i, child in enumerate(node.body):
                visit(child, node.name, guarded or i > guarded_from)
            return
        if isinstance(node, ast.If):
            visit(node.test, function, guarded)
            for child in node.body:
                visit(child, function, guarded or _dialect_test(node.test, ast.Eq))
            for child in node.orelse:
                visit(child, function, guarded)
            return
        if isinstance(node, ast.Attribute):
            if node.attr in ("execute_native", "connection"):
                found.append((function, node.attr, guarded))
            elif node.attr == "connect" and isinstance(node.value, ast.Name) and node.value.id == "duckdb":
                found.append((function, "duckdb.connect", guarded))
        for child in ast.iter_child_nodes(node):
            visit(child, function, guarded)

    visit(tree, "<module>", False)
    return found


def test_sql_past_the_portable_interface_is_only_where_listed_and_guarded() -> None:
    seen = set()
    for path in sorted((ROOT / "scout").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("scout/db/"):  # the backends themselves
            continue
        for function, what, guarded in _native_uses(ast.parse(path.read_text(encoding="utf-8"))):
            key = (relative, function, what)
            assert key in DUCKDB_ONLY_USES, (
                f"{relative}: {function} uses {what}: only DuckDB-only code may "
                '(behind `if db.dialect == "duckdb":`); list it here with why'
            )
            if DUCKDB_ONLY_USES[key][0] == "guarded":
                assert guarded, f"{relative}: {function} uses {what} where another engine could reach it"
            seen.add(key)
    assert seen == set(DUCKDB_ONLY_USES), f"listed but no longer used: {set(DUCKDB_ONLY_USES) - seen}"


def test_the_guard_check_tells_guarded_from_unguarded_code() -> None:
    tree = ast.parse(
        "def only_embedded(db):\n"
        "    if db.dialect != 'duckdb':\n"
        "        raise ValueError('embedded only')\n"
        "def guarded_by_if(db):\n"
        "    if db.dialect == 'duckdb':\n"
        "        db.execute_native('SET threads = 1')\n"
        "def guarded_by_call(db):\n"
        "    only_embedded(db)\n"
        "    db.connection.execute('CHECKPOINT')\n"
        "def unguarded(db):\n"
        "    if db.dialect == 'tsql':\n"
        "        pass\n"
        "    else:\n"
        "        db.execute_native('SET threads = 1')\n"
        "    db.connection.execute('CHECKPOINT')\n"
        "    only_embedded(db)\n"
    )
    assert _native_uses(tree) == [
        ("guarded_by_if", "execute_native", True),
        ("guarded_by_call", "connection", True),
        ("unguarded", "execute_native", False),
        ("unguarded", "connection", False),
    ]
