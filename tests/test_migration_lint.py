"""The lint keeps migrations inside the T-SQL subset both engines run (rules and reasons: sql/README.md).

Each rejected sample is something that would work on one engine and break on the other, or that the
GO splitter would cut in the wrong place. Messages name the file, the batch and the line.
"""

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations import files, runner
from scout.migrations.lint import lint_text

REJECTED = [
    # procedural / session T-SQL: the ledger already runs each migration once, in one transaction
    ("IF OBJECT_ID('dbo.t') IS NULL CREATE TABLE dbo.t (a INT);", "IF is procedural"),
    ("CREATE TABLE dbo.t (a INT); IF 1 = 1 SELECT 1;", "IF is procedural"),
    ("IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE name = N't')\nCREATE TABLE dbo.t (a INT);", "IF is procedural"),
    ("BEGIN\nCREATE TABLE dbo.t (a INT);\nEND", "outside the supported subset"),
    ("WHILE 1 = 0 SELECT 1;", "WHILE is procedural"),
    ("EXEC sp_rename 'a', 'b';", "EXEC is procedural"),
    ("SELECT 1; EXEC sp_x;", "EXEC is procedural"),
    ("DECLARE @n INT;", "DECLARE is procedural"),
    ("BEGIN TRANSACTION;\nCREATE TABLE dbo.t (a INT);\nCOMMIT;", "BEGIN TRAN"),
    ("CREATE TABLE dbo.t (a INT);\nCOMMIT;", "COMMIT is procedural"),
    ("USE master;", "USE is procedural"),
    ("PRINT 'hello';", "PRINT is procedural"),
    ("CREATE TABLE dbo.t (a INT);\nSET NOCOUNT ON;", "SET is procedural"),
    # constructs with no translation, or T-SQL-only syntax
    ("CREATE TABLE dbo.t (id INT IDENTITY(1,1) PRIMARY KEY);", "IDENTITY"),
    ("SELECT 'Store ' + name FROM dbo.Stores;", "use CONCAT"),
    ("SELECT name + N' store' FROM dbo.Stores;", "use CONCAT"),
    ("DROP INDEX ix_a ON dbo.t;", "DROP INDEX ... ON"),
    ("CREATE TABLE IF NOT EXISTS dbo.t (a INT);", "IF NOT EXISTS is not T-SQL"),
    # batches
    ("CREATE TABLE dbo.t (a INT);\nCREATE VIEW dbo.v AS SELECT a FROM dbo.t;", "alone in its batch"),
    ("SELECT 1\nGO SELECT 2", "GO must stand on its own line"),
    ("INSERT INTO dbo.t (a) VALUES (N'first line\nGO\nthird line');", "unterminated string literal"),
    ("/* notes\nGO\n*/ CREATE TABLE dbo.t (a INT);", "unterminated block comment"),
    # what sqlglot cannot parse, or keeps only as an opaque command
    ("SELEC 1 FROM", "not parseable as T-SQL"),
    ("CREATE TABLE dbo.t (a INT,", "not parseable as T-SQL"),
    ("DBCC CHECKDB;", "outside the supported subset"),
    ("ALTER DATABASE CURRENT SET READ_COMMITTED_SNAPSHOT ON;", "outside the supported subset"),
]

ALLOWED = [
    "UPDATE dbo.t\nSET a = 1\nWHERE b = 2;",  # SET at a line start is an UPDATE clause, not a session SET
    "DROP TABLE IF EXISTS dbo.t;",
    "-- IF this, EXEC that\nSELECT CONCAT('IF ', name), 'a' AS x /* DECLARE */ FROM dbo.Stores WHERE name <> 'EXEC';",
    "SELECT N'it''s GO time' AS a, 1 + 2 AS b;",
    "CREATE OR ALTER VIEW dbo.v AS SELECT 1 AS a;",
]


@pytest.mark.parametrize("sql, rule", REJECTED, ids=[r[1] + ":" + r[0][:25] for r in REJECTED])
def test_the_lint_rejects_what_lies_outside_the_subset(sql, rule):
    errors = [str(e) for e in lint_text("V9__sample.sql", sql)]
    assert any(rule in e for e in errors), errors
    assert all(e.startswith("V9__sample.sql batch ") and " line " in e for e in errors)


@pytest.mark.parametrize("sql", ALLOWED)
def test_the_lint_accepts_portable_sql_and_ignores_keywords_in_strings_and_comments(sql):
    assert lint_text("V9__ok.sql", sql) == []


def test_messages_point_at_the_batch_and_line():
    sql = "CREATE TABLE dbo.a (x INT);\nGO\nCREATE TABLE dbo.b (x INT);\nCREATE TABLE dbo.c (id INT IDENTITY(1,1));\n"
    [error] = lint_text("V7__three.sql", sql)
    assert (error.script, error.batch, error.line) == ("V7__three.sql", 2, 2)


def test_the_runner_lints_before_it_applies_anything(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "V1__ok.sql").write_text("CREATE TABLE dbo.a (id INT);")
    (folder / "V2__procedural.sql").write_text("CREATE TABLE dbo.b (id INT);\nGO\nDECLARE @n INT;")
    db = DuckDBDatabase(str(tmp_path / "lint.duckdb"))
    try:
        with pytest.raises(runner.LintFailed, match=r"nothing applied: V2__procedural.sql batch 2 line 1: DECLARE"):
            runner.apply(db, files.discover(folder))
        with pytest.raises(runner.LintFailed):
            runner.apply(db, files.discover(folder), dry_run=True)
        assert not db.table_exists("dbo", "a") and runner.status(db, files.discover(folder))["applied"] == []

        report = runner.verify(db, files.discover(folder))
        assert report["ok"] is False
        assert [(e["script"], e["batch"]) for e in report["lint"]] == [("V2__procedural.sql", 2)]
    finally:
        db.close()
