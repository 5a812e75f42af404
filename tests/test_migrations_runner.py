"""The migration runner on DuckDB: discover files → plan against the ledger → apply in a transaction → record."""

import shutil
from pathlib import Path

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations import files, ledger, runner
from scout.migrations.ledger import read_ledger


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    return path


@pytest.fixture
def db(tmp_path: Path):
    database = DuckDBDatabase(str(tmp_path / "runner.duckdb"))
    yield database
    database.close()


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def tables(db) -> set[str]:
    return {r[0] for r in db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'dbo'")}


def basic(folder: Path) -> None:
    write(folder, "V1__create_a.sql", "CREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50));")
    write(
        folder,
        "V2__create_b.sql",
        "CREATE TABLE dbo.b (id INT NOT NULL PRIMARY KEY);\nGO\nINSERT INTO dbo.b (id) VALUES (1);",
    )
    write(folder, "U2__create_b.sql", "DROP TABLE dbo.b;")


def test_apply_runs_pending_versions_in_order_and_records_each(db, folder):
    basic(folder)
    result = runner.apply(db, files.discover(folder))

    assert [m["version"] for m in result["applied"]] == ["1", "2"]
    assert tables(db) == {"a", "b"}
    rows = read_ledger(db)
    assert [(r.version, r.type, r.success) for r in rows] == [("1", "versioned", True), ("2", "versioned", True)]
    assert all(len(r.checksum) == 64 for r in rows)


def test_applying_again_changes_nothing(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder))
    again = runner.apply(db, files.discover(folder))
    assert again["applied"] == [] and len(read_ledger(db)) == 2


def test_a_failing_migration_is_rolled_back_recorded_and_retried_once_fixed(db, folder):
    basic(folder)
    write(folder, "V3__broken.sql", "CREATE TABLE dbo.c (id INT);\nGO\nINSERT INTO dbo.nope (id) VALUES (1);")
    write(folder, "V4__after.sql", "CREATE TABLE dbo.d (id INT);")

    with pytest.raises(runner.MigrationError, match="V3__broken.sql batch 2"):
        runner.apply(db, files.discover(folder))

    assert tables(db) == {"a", "b"}  # nothing of V3 remains, V4 never ran
    failed = read_ledger(db)[-1]
    assert (failed.version, failed.success) == ("3", False) and "nope" in failed.error
    assert [m["version"] for m in runner.status(db, files.discover(folder))["pending"]] == ["3", "4"]

    write(folder, "V3__broken.sql", "CREATE TABLE dbo.c (id INT);\nGO\nINSERT INTO dbo.c (id) VALUES (1);")
    result = runner.apply(db, files.discover(folder))
    assert [m["version"] for m in result["applied"]] == ["3", "4"]
    assert runner.status(db, files.discover(folder))["failed"] == []


def test_verify_reports_changed_missing_and_unknown_files_and_apply_refuses_drift(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder))
    write(folder, "V1__create_a.sql", "CREATE TABLE dbo.a (id BIGINT NOT NULL PRIMARY KEY);")
    (folder / "V2__create_b.sql").unlink()
    write(folder, "v3-bad-name.sql", "SELECT 1;")

    report = runner.verify(db, files.discover(folder))

    assert report["ok"] is False
    assert [c["script"] for c in report["changed"]] == ["V1__create_a.sql"]
    assert [m["version"] for m in report["missing"]] == ["2"]
    assert report["unknown"] == [{"script": "v3-bad-name.sql"}]
    with pytest.raises(runner.DriftError, match="V1__create_a.sql"):
        runner.apply(db, files.discover(folder))


def test_checksums_ignore_line_endings_and_trailing_whitespace_only():
    text = "CREATE TABLE dbo.a (id INT);\nINSERT INTO dbo.a VALUES (1);\n"
    assert files.checksum(text) == files.checksum(text.replace("\n", "\r\n"))
    assert files.checksum(text) == files.checksum(text.replace(";\n", ";   \t\n") + "\n\n")
    assert files.checksum(text) != files.checksum(text.replace("(1)", "(2)"))
    assert files.checksum(text) != files.checksum("  " + text)  # leading whitespace is content
    assert files.checksum(text) != files.checksum(text.replace("\n", "\n\n", 1))  # so are blank lines inside


def test_undo_goes_back_to_the_target_with_the_undo_files(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder))

    result = runner.undo(db, files.discover(folder), target="1")

    assert [m["script"] for m in result["undone"]] == ["U2__create_b.sql"]
    assert tables(db) == {"a"}
    assert [m["version"] for m in runner.status(db, files.discover(folder))["pending"]] == ["2"]
    runner.apply(db, files.discover(folder))
    assert tables(db) == {"a", "b"}


def test_undo_without_an_undo_file_refuses_and_undoes_nothing(db, folder):
    basic(folder)
    write(folder, "V3__c.sql", "CREATE TABLE dbo.c (id INT);")
    runner.apply(db, files.discover(folder))
    with pytest.raises(runner.MigrationError, match="no undo file for version"):
        runner.undo(db, files.discover(folder), target="1")
    assert tables(db) == {"a", "b", "c"}


def test_baseline_records_existing_objects_without_running_them(db, folder):
    db.execute("CREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50))")  # "production" has it
    basic(folder)

    marked = runner.baseline(db, files.discover(folder), version="1")
    assert [m["version"] for m in marked["baselined"]] == ["1"]
    result = runner.apply(db, files.discover(folder))

    assert [m["version"] for m in result["applied"]] == ["2"]
    assert [(r.version, r.type) for r in read_ledger(db)] == [("1", "baseline"), ("2", "versioned")]


def test_dry_run_changes_nothing_and_shows_the_sql_of_both_engines(db, folder):
    basic(folder)
    result = runner.apply(db, files.discover(folder), dry_run=True)

    assert tables(db) == set() and read_ledger(db) == []
    first = result["would_apply"][0]
    assert first["sql"]["tsql"] == ["CREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50));"]
    assert first["sql"]["duckdb"] == ["CREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY, name TEXT)"]
    assert [m["version"] for m in result["would_apply"]] == ["1", "2"]


def test_go_separates_batches_repeats_them_and_allows_a_trailing_comment():
    text = "INSERT INTO t VALUES (1)\nGO 3\nINSERT INTO t VALUES (2)\n  go  -- second\nSELECT 'GO' AS x -- GO here is text\n"
    assert files.split_batches(text) == ["INSERT INTO t VALUES (1)"] * 3 + [
        "INSERT INTO t VALUES (2)",
        "SELECT 'GO' AS x -- GO here is text",
    ]


def test_go_repeat_count_runs_the_batch_that_many_times(db, folder):
    write(folder, "V1__t.sql", "CREATE TABLE dbo.t (x INT);\nGO\nINSERT INTO dbo.t (x) VALUES (7);\nGO 3")
    runner.apply(db, files.discover(folder))
    assert db.query_one("SELECT COUNT(*) FROM dbo.t")[0] == 3


def test_target_stops_after_that_version(db, folder):
    basic(folder)
    write(folder, "V3__c.sql", "CREATE TABLE dbo.c (id INT);")
    result = runner.apply(db, files.discover(folder), target="2")
    assert [m["version"] for m in result["applied"]] == ["1", "2"]
    with pytest.raises(runner.MigrationError, match="target version 9"):
        runner.apply(db, files.discover(folder), target="9")


def test_versions_sort_numerically_not_as_text(db, folder):
    for v in ("1_10", "1_2", "1_9"):
        write(folder, f"V{v}__t{v}.sql", f"CREATE TABLE dbo.t{v} (x INT);")
    result = runner.apply(db, files.discover(folder))
    assert [m["version"] for m in result["applied"]] == ["1.2", "1.9", "1.10"]


def test_repeatables_run_after_versions_and_again_only_when_changed(db, folder):
    basic(folder)
    write(folder, "R__v_a.sql", "CREATE OR ALTER VIEW dbo.v_a AS SELECT id FROM dbo.a;")

    first = runner.apply(db, files.discover(folder))
    assert [m["script"] for m in first["applied"]][-1] == "R__v_a.sql"
    assert runner.apply(db, files.discover(folder))["applied"] == []

    write(folder, "R__v_a.sql", "CREATE OR ALTER VIEW dbo.v_a AS SELECT id, name FROM dbo.a;")
    changed = runner.apply(db, files.discover(folder))
    assert [m["script"] for m in changed["applied"]] == ["R__v_a.sql"]
    assert [
        c[0]
        for c in db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'v_a' ORDER BY ordinal_position"
        )
    ] == ["id", "name"]


def test_a_migration_outside_the_portable_subset_is_refused_before_anything_runs(db, folder):
    basic(folder)
    write(folder, "V3__procedural.sql", "IF 1 = 1 CREATE TABLE dbo.c (id INT);")
    with pytest.raises(runner.LintFailed, match="V3__procedural.sql batch 1 line 1: IF"):
        runner.apply(db, files.discover(folder))
    assert tables(db) == set()


def test_duplicate_versions_and_bad_names_are_clear_errors(folder):
    write(folder, "V1__a.sql", "SELECT 1;")
    write(folder, "V001__b.sql", "SELECT 1;")
    with pytest.raises(files.MigrationFileError, match="V1__a.sql: duplicates V001__b.sql|V001__b.sql: duplicates"):
        files.discover(folder)


def test_status_of_a_database_without_a_ledger_lists_everything_as_pending(db, folder):
    basic(folder)
    status = runner.status(db, files.discover(folder))
    assert status["applied"] == [] and [m["version"] for m in status["pending"]] == ["1", "2"]
    assert not db.table_exists("ops", "migration_history")  # reading never creates anything


def test_repeatables_wait_until_every_versioned_migration_is_applied(db, folder):
    basic(folder)
    write(folder, "R__v_b.sql", "CREATE OR ALTER VIEW dbo.v_b AS SELECT id FROM dbo.b;")  # needs V2's table

    partial = runner.apply(db, files.discover(folder), target="1")
    assert [m["script"] for m in partial["applied"]] == ["V1__create_a.sql"]

    rest = runner.apply(db, files.discover(folder))
    assert [m["script"] for m in rest["applied"]] == ["V2__create_b.sql", "R__v_b.sql"]


def test_a_failing_repeatable_is_rolled_back_recorded_and_retried_once_fixed(db, folder):
    basic(folder)
    write(folder, "R__v_a.sql", "CREATE OR ALTER VIEW dbo.v_a AS SELECT missing_column FROM dbo.a;")
    with pytest.raises(runner.MigrationError, match="R__v_a.sql batch 1"):
        runner.apply(db, files.discover(folder))
    status = runner.status(db, files.discover(folder))
    assert [f["script"] for f in status["failed"]] == ["R__v_a.sql"] and "missing_column" in status["failed"][0][
        "error"
    ]
    assert "v_a" not in {r[0] for r in db.query("SELECT table_name FROM information_schema.views")}

    write(folder, "R__v_a.sql", "CREATE OR ALTER VIEW dbo.v_a AS SELECT id FROM dbo.a;")
    assert [m["script"] for m in runner.apply(db, files.discover(folder))["applied"]] == ["R__v_a.sql"]
    assert runner.status(db, files.discover(folder))["failed"] == []


def test_a_failing_undo_leaves_the_version_applied_and_reports_the_failure(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder))
    write(folder, "U2__create_b.sql", "DELETE FROM dbo.b;\nGO\nDROP TABLE dbo.no_such_table;")

    with pytest.raises(runner.MigrationError, match="U2__create_b.sql batch 2"):
        runner.undo(db, files.discover(folder), target="1")

    assert db.query_one("SELECT COUNT(*) FROM dbo.b")[0] == 1  # batch 1's DELETE was rolled back too
    status = runner.status(db, files.discover(folder))
    assert [m["version"] for m in status["applied"]] == ["1", "2"]
    assert [(f["script"], f["type"]) for f in status["failed"]] == [("U2__create_b.sql", "undo")]


def test_reading_commands_on_an_empty_database_create_nothing(db, folder):
    basic(folder)
    assert runner.verify(db, files.discover(folder))["ok"] is True
    assert runner.apply(db, files.discover(folder), dry_run=True)["applied"] == []
    assert not db.table_exists("ops", "migration_history") and tables(db) == set()


def test_the_ledger_says_who_applied_each_migration_and_how_long_it_took(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder), applied_by="host-7/invocation-42")
    rows = read_ledger(db)
    assert {r.applied_by for r in rows} == {"host-7/invocation-42"}
    assert all(r.execution_ms >= 0 and r.applied_at is not None for r in rows)


def test_baseline_is_not_drift_and_cannot_name_a_version_without_a_file(db, folder):
    basic(folder)
    runner.baseline(db, files.discover(folder), version="2")
    assert runner.verify(db, files.discover(folder))["ok"] is True
    assert tables(db) == set()  # nothing ran
    with pytest.raises(runner.MigrationError, match="baseline version 7 has no V7__"):
        runner.baseline(db, files.discover(folder), version="7")


# -- the T-SQL lint and the schema lint, end to end --------------------------------------------------------


def test_verify_apply_and_dry_run_reject_a_bare_reserved_keyword_with_file_batch_and_line(db, folder):
    basic(folder)
    write(
        folder,
        "V3__sessions.sql",
        "CREATE SCHEMA results;\nGO\nCREATE TABLE results.g (\n"
        "    session_id NVARCHAR(64) NOT NULL PRIMARY KEY,\n    percent INT NOT NULL\n);",
    )
    expected = "V3__sessions.sql batch 2 line 3: percent is a reserved T-SQL keyword"

    assert [e["error"][: len(expected)] for e in runner.verify(db, files.discover(folder))["lint"]] == [expected]
    with pytest.raises(runner.LintFailed, match=expected):
        runner.apply(db, files.discover(folder), dry_run=True)
    with pytest.raises(runner.LintFailed, match=expected):
        runner.apply(db, files.discover(folder))
    assert tables(db) == set()

    write(
        folder,
        "V3__sessions.sql",
        "CREATE SCHEMA results;\nGO\nCREATE TABLE results.g (\n"
        "    session_id NVARCHAR(64) NOT NULL PRIMARY KEY,\n    [percent] INT NOT NULL\n);",
    )
    runner.apply(db, files.discover(folder))
    db.execute("INSERT INTO results.g (session_id, percent) VALUES (?, ?)", ("s1", 40))
    assert db.query_one("SELECT [percent] FROM results.g")[0] == 40


def test_a_foreign_key_of_another_type_than_its_key_is_refused_before_it_runs(db, folder):
    write(folder, "V1__runs.sql", "CREATE TABLE dbo.runs (run_id INT NOT NULL PRIMARY KEY);")
    runner.apply(db, files.discover(folder))
    write(
        folder,
        "V2__parts.sql",
        "CREATE TABLE dbo.parts (\n    part_id INT NOT NULL PRIMARY KEY,\n"
        "    run_id BIGINT NOT NULL REFERENCES dbo.runs (run_id)\n);",
    )
    expected = (
        "V2__parts.sql batch 1 line 3: foreign key column dbo.parts.run_id BIGINT must match the referenced "
        "column dbo.runs.run_id INT"
    )

    for dry_run in (True, False):
        with pytest.raises(runner.LintFailed, match=expected):
            runner.apply(db, files.discover(folder), dry_run=dry_run)
    assert tables(db) == {"runs"}  # DuckDB would have accepted it
    report = runner.verify(db, files.discover(folder))
    assert report["ok"] is False and [e["error"][: len(expected)] for e in report["lint"]] == [expected]


def test_a_table_created_twice_is_refused_naming_both_files(db, folder):
    basic(folder)
    runner.apply(db, files.discover(folder))
    write(folder, "V3__again.sql", "-- a second definition\nCREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY);")

    with pytest.raises(
        runner.LintFailed,
        match=r"V3__again.sql batch 1 line 2: table dbo.a is already created by "
        r"V1__create_a.sql batch 1 line 1",
    ):
        runner.apply(db, files.discover(folder))
    assert runner.verify(db, files.discover(folder))["ok"] is False

    write(folder, "V3__again.sql", "DROP TABLE dbo.a;\nGO\nCREATE TABLE dbo.a (id BIGINT NOT NULL PRIMARY KEY);")
    assert [m["script"] for m in runner.apply(db, files.discover(folder))["applied"]] == ["V3__again.sql"]


def test_a_schema_error_in_an_applied_file_is_reported_but_does_not_block_the_next_ones(db, folder):
    write(folder, "V1__runs.sql", "CREATE TABLE dbo.runs (run_id INT NOT NULL PRIMARY KEY);")
    write(folder, "V2__parts.sql", "CREATE TABLE dbo.parts (run_id BIGINT NOT NULL REFERENCES dbo.runs (run_id));")
    write(folder, "V3__more.sql", "CREATE TABLE dbo.more (id INT NOT NULL PRIMARY KEY);")
    runner.baseline(db, files.discover(folder), version="2")  # production already has both, as they are

    assert [m["script"] for m in runner.apply(db, files.discover(folder))["applied"]] == ["V3__more.sql"]
    assert [e["script"] for e in runner.verify(db, files.discover(folder))["lint"]] == ["V2__parts.sql"]


def test_future_keywords_are_shown_by_verify_and_never_block(db, folder):
    write(
        folder,
        "V1__roles.sql",
        "CREATE TABLE dbo.people (\n    id INT NOT NULL PRIMARY KEY,\n    role NVARCHAR(20) NULL\n);",
    )
    assert runner.apply(db, files.discover(folder))["applied"]
    report = runner.verify(db, files.discover(folder))
    assert report["ok"] is True and report["lint"] == []
    assert [(w["script"], w["line"]) for w in report["warnings"]] == [("V1__roles.sql", 3)]


# -- amendments: an applied text may be rewritten only into the very same schema --------------------------


def test_a_file_declaring_the_ledger_checksum_amended_is_not_drift(db, folder):
    original = "CREATE TABLE dbo.g (id INT NOT NULL PRIMARY KEY, note NVARCHAR(20) NULL);"
    write(folder, "V1__g.sql", original)
    runner.apply(db, files.discover(folder))
    old = files.checksum(original)

    write(
        folder,
        "V1__g.sql",
        f"-- scout:amends {old} the column list is written one per line\n"
        "CREATE TABLE dbo.g (\n    id INT NOT NULL PRIMARY KEY,\n    note NVARCHAR(20) NULL\n);",
    )
    write(folder, "V2__h.sql", "CREATE TABLE dbo.h (id INT NOT NULL PRIMARY KEY);")
    report = runner.verify(db, files.discover(folder))
    assert report["ok"] is True and report["changed"] == []
    assert [(a["script"], a["ledger_checksum"], a["reason"]) for a in report["amended"]] == [
        ("V1__g.sql", old, "the column list is written one per line")
    ]
    assert [m["script"] for m in runner.apply(db, files.discover(folder))["applied"]] == ["V2__h.sql"]

    write(folder, "V1__g.sql", f"-- scout:amends {'0' * 64} some other text\nCREATE TABLE dbo.g (id INT);")
    with pytest.raises(runner.DriftError, match="V1__g.sql"):
        runner.apply(db, files.discover(folder))


@pytest.mark.parametrize("header", ["-- scout:amends abc123 too short", "-- scout:amends " + "a" * 64])  # no reason
def test_a_malformed_amendment_header_is_a_clear_error(folder, header):
    write(folder, "V1__g.sql", f"{header}\nCREATE TABLE dbo.g (id INT);")
    with pytest.raises(files.MigrationFileError, match="V1__g.sql: '-- scout:amends' needs"):
        files.discover(folder)


def test_only_versioned_files_may_amend(folder):
    write(folder, "R__v.sql", f"-- scout:amends {'a' * 64} why\nCREATE OR ALTER VIEW dbo.v AS SELECT 1 AS a;")
    with pytest.raises(files.MigrationFileError, match="only versioned migrations"):
        files.discover(folder)


PRODUCT = files.discover()
AMENDMENTS = [(m, a) for m in PRODUCT.versioned for a in m.amends]


def _run_text(db, text: str) -> None:
    """Run a file's batches as the runner of its time did (before today's lint existed)."""
    for batch in files.split_batches(text):
        for statement in db.translate_batch(batch):
            db.execute_native(statement)


def _schema(db) -> list[tuple]:
    columns = db.query(
        "SELECT table_schema, table_name, ordinal_position, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_catalog = current_database() "
        "ORDER BY table_schema, table_name, ordinal_position"
    )
    constraints = db.query(
        "SELECT schema_name, table_name, constraint_type, CAST(constraint_column_names AS VARCHAR) "
        "FROM duckdb_constraints() WHERE database_name = current_database() ORDER BY 1, 2, 3, 4"
    )
    indexes = db.query(
        "SELECT schema_name, table_name, index_name, is_unique, expressions FROM duckdb_indexes() "
        "WHERE database_name = current_database() ORDER BY 1, 2, 3"
    )
    return [*columns, *constraints, *indexes]


def _before(version: str) -> str | None:
    earlier = [m.version for m in PRODUCT.versioned if m.version_key < files.version_key(version)]
    return earlier[-1] if earlier else None


def test_the_product_has_the_percent_amendment_of_v020():
    assert [(m.script, a.checksum[:12]) for m, a in AMENDMENTS] == [("V020__montecarlo_results.sql", "c279b6b68ef7")]


@pytest.mark.parametrize(
    "migration, amendment", AMENDMENTS, ids=[f"{m.script}:{a.checksum[:12]}" for m, a in AMENDMENTS]
)
def test_each_amendment_keeps_its_original_and_builds_the_identical_schema(tmp_path, migration, amendment):
    kept = files.amended_original(migration.script, amendment)
    original = kept.read_text(encoding="utf-8")
    assert files.checksum(original) == amendment.checksum

    amended = (files.DEFAULT_DIR / migration.script).read_text(encoding="utf-8")
    schemas = []
    for name, text in (("original", original), ("amended", amended)):
        db = DuckDBDatabase(str(tmp_path / f"{name}.duckdb"))
        try:
            if _before(migration.version):
                runner.apply(db, PRODUCT, target=_before(migration.version))
            _run_text(db, text)
            schemas.append(_schema(db))
        finally:
            db.close()
    assert schemas[0] == schemas[1] and len(schemas[0]) > 1


def _as_first_released(tmp_path: Path, m: files.Migration) -> files.Migration:
    """The migration as its amended original read, under its own file name."""
    folder = tmp_path / "released"
    folder.mkdir()
    shutil.copy(files.amended_original(m.script, m.amends[0]), folder / m.script)
    return files.load_migration(folder / m.script)


def test_a_duckdb_database_where_the_old_v020_applied_verifies_ok_and_applies_later_migrations(tmp_path, db):
    old_v020 = _as_first_released(tmp_path, PRODUCT.by_version()["20"])
    runner.apply(db, PRODUCT, target=_before("20"))
    with db.transaction():
        _run_text(db, "\nGO\n".join(old_v020.batches))
        ledger.record(
            db,
            version="20",
            description=old_v020.description,
            type="versioned",
            script=old_v020.script,
            checksum=old_v020.checksum,
            applied_by="the runner of V020's release",
            execution_ms=1,
            success=True,
        )

    later = tmp_path / "later"
    shutil.copytree(files.DEFAULT_DIR, later)
    write(
        later,
        "V999__later.sql",
        "INSERT INTO results.generation_status (session_id, topic, state, [percent], "
        "updated_at) VALUES (N'later', N'topic', N'done', 100, SYSUTCDATETIME());",
    )
    report = runner.verify(db, files.discover(later))
    assert report["ok"] is True and report["changed"] == []
    assert [(a["script"], a["ledger_checksum"]) for a in report["amended"]] == [
        ("V020__montecarlo_results.sql", old_v020.checksum)
    ]

    applied = [m["script"] for m in runner.apply(db, files.discover(later))["applied"]]
    assert "V999__later.sql" in applied and "V020__montecarlo_results.sql" not in applied
    assert db.query_one("SELECT [percent] FROM results.generation_status WHERE session_id = 'later'")[0] == 100
    assert runner.status(db, files.discover(later))["pending"] == []


def test_a_database_where_the_old_v020_failed_runs_the_fixed_file_on_the_next_apply(db):
    """Azure SQL: the old V020 failed (Msg 156), was rolled back and recorded as failed."""
    runner.apply(db, PRODUCT, target=_before("20"))
    m = PRODUCT.by_version()["20"]
    with db.transaction():
        ledger.record(
            db,
            version="20",
            description=m.description,
            type="versioned",
            script=m.script,
            checksum=m.amends[0].checksum,
            applied_by="azure",
            execution_ms=3,
            success=False,
            error="Incorrect syntax near the keyword 'percent'.",
        )
    assert runner.verify(db, PRODUCT)["ok"] is True

    assert "V020__montecarlo_results.sql" in [r["script"] for r in runner.apply(db, PRODUCT)["applied"]]
    row = next(r for r in reversed(read_ledger(db)) if r.version == "20")
    assert (row.success, row.checksum) == (True, m.checksum)
