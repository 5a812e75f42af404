"""The migration runner on DuckDB: discover files → plan against the ledger → apply in a transaction → record."""

from pathlib import Path

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations import files, runner
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
    write(folder, "V2__create_b.sql", "CREATE TABLE dbo.b (id INT NOT NULL PRIMARY KEY);\nGO\nINSERT INTO dbo.b (id) VALUES (1);")
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
        "INSERT INTO t VALUES (2)", "SELECT 'GO' AS x -- GO here is text"]


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
    assert [c[0] for c in db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'v_a' ORDER BY ordinal_position")] == ["id", "name"]


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
    assert [f["script"] for f in status["failed"]] == ["R__v_a.sql"] and "missing_column" in status["failed"][0]["error"]
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
