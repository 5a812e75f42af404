"""The lint keeps migrations inside the T-SQL subset both engines run (rules and reasons: sql/README.md).

Each rejected sample is something that would work on one engine and break on the other, or that the
GO splitter would cut in the wrong place. Messages name the file, the batch and the line.
"""

from pathlib import Path

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations import files, runner
from scout.migrations.lint import lint_text
from scout.sql.keywords import FUTURE_WORDS, RESERVED_WORDS
from scout.sql.lint import LintError, lint_batch

ROOT = Path(__file__).resolve().parents[1]

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


# -- T-SQL validity: what SQL Server rejects or silently changes although DuckDB and sqlglot accept it ----

REJECTED_ON_SQL_SERVER = [
    # (sample, rule, line): reserved keywords as bare column, table, schema, alias, index and CTE names
    (
        "CREATE TABLE results.g (\n    session_id NVARCHAR(64) NOT NULL,\n    percent INT NOT NULL\n);",
        "percent is a reserved T-SQL keyword used as a bare identifier (SQL Server: Msg 156): write [percent]",
        3,
    ),
    ("UPDATE results.g\nSET percent = 100\nWHERE session_id = N'a';", "percent is a reserved", 2),
    ("CREATE TABLE dbo.plan (a INT);", "plan is a reserved", 1),
    ("CREATE SCHEMA file;", "file is a reserved", 1),
    ("SELECT t.a\nFROM dbo.t AS rule;", "rule is a reserved", 2),
    ("SELECT a AS key FROM dbo.t;", "key is a reserved", 1),
    ("SELECT x FROM current.t;", "current is a reserved", 1),
    ("CREATE INDEX plan ON dbo.t (a);", "plan is a reserved", 1),
    ("WITH open AS (SELECT 1 AS a)\nSELECT a FROM open;", "open is a reserved", 1),
    # string literals: SQL Server's line continuation, and raw control characters
    ("SELECT TRANSLATE(x, N'.,/\\\n', N'    ') AS y FROM dbo.t;", "backslash before a line break", 1),
    ("SELECT a FROM dbo.t\nWHERE b = N'x\ty';", "raw control character TAB inside a string literal: write NCHAR(9)", 2),
    ("SELECT 1 AS a;\nSELECT N'first\nsecond' AS b;", "raw control character LF", 2),
    ("SELECT N'a\rb' AS c;", "raw control character CR inside a string literal: write NCHAR(13)", 1),
    # character types without a length
    (
        "SELECT\n    CAST(total_items AS NVARCHAR) AS n\nFROM dbo.Transactions;",
        "CAST/CONVERT to NVARCHAR without a length means NVARCHAR(30)",
        2,
    ),
    ("SELECT CONVERT(VARCHAR, txn_ts, 120) AS d FROM dbo.Transactions;", "VARCHAR without a length", 1),
    (
        "CREATE TABLE dbo.t (\n    a INT NOT NULL,\n    code NVARCHAR NOT NULL\n);",
        "column code declared NVARCHAR without a length means NVARCHAR(1)",
        3,
    ),
    # ORDER BY without TOP where SQL Server forbids it (Msg 1033)
    ("CREATE VIEW dbo.v AS\nSELECT a FROM dbo.t\nORDER BY a;", "ORDER BY in a view without TOP or OFFSET", 3),
    ("SELECT a FROM (\n    SELECT a FROM dbo.t ORDER BY a\n) AS s;", "ORDER BY in a subquery", 2),
    # MAX types in keys (Msg 1919)
    (
        "CREATE TABLE dbo.t (\n    k NVARCHAR(MAX) NOT NULL PRIMARY KEY\n);",
        "k NVARCHAR(MAX) cannot be a key column of a PRIMARY KEY (SQL Server: Msg 1919)",
        2,
    ),
    (
        "CREATE TABLE dbo.t (\n    a INT NOT NULL,\n    k VARBINARY(MAX) NOT NULL,\n    PRIMARY KEY (a, k)\n);",
        "k VARBINARY(MAX) cannot be a key column of a PRIMARY KEY",
        4,
    ),
    ("CREATE TABLE dbo.t (a INT, k VARCHAR(MAX), CONSTRAINT uq_k UNIQUE (k));", "of a UNIQUE constraint", 1),
    ("CREATE TABLE dbo.t (a INT, k NVARCHAR(MAX));\nCREATE INDEX ix_k ON dbo.t (k);", "of an index", 2),
]

DUCKDB_ONLY = [
    ("SELECT a::INT AS a FROM dbo.t;", "'::' casts"),
    ("SELECT a FROM dbo.t WHERE a ILIKE N'x%';", "ILIKE"),
    ("SELECT a FROM dbo.t\nORDER BY a\nLIMIT 5;", "LIMIT"),
    ("SELECT a FROM dbo.t QUALIFY ROW_NUMBER() OVER (ORDER BY a) = 1;", "QUALIFY"),
    ("CREATE OR REPLACE VIEW dbo.v AS SELECT 1 AS a;", "CREATE OR REPLACE"),
    ("INSERT OR REPLACE INTO dbo.t VALUES (1);", "INSERT OR REPLACE/IGNORE"),
    ("INSERT OR IGNORE INTO dbo.t VALUES (1);", "INSERT OR REPLACE/IGNORE"),
    ("SELECT a FROM dbo.t USING SAMPLE 10;", "USING SAMPLE"),
    ("SELECT rowid FROM dbo.t;", "rowid"),
    ("SELECT * EXCLUDE (a) FROM dbo.t;", "EXCLUDE"),
    ("SELECT * FROM read_parquet(N'x.parquet');", "read_parquet"),
    ("COPY dbo.t TO 'x.csv';", "COPY"),
    ("SELECT LIST_VALUE(1, 2) AS l;", "STRUCT/LIST functions"),
    ("SELECT STRUCT_PACK(a := 1) AS s;", "STRUCT/LIST functions"),
]


@pytest.mark.parametrize("sql, rule, line", REJECTED_ON_SQL_SERVER, ids=[r[1][:40] for r in REJECTED_ON_SQL_SERVER])
def test_the_lint_rejects_what_sql_server_rejects_at_the_line_it_is_on(sql, rule, line):
    errors = lint_text("V9__sample.sql", sql)
    found = [(e.line, e.severity) for e in errors if rule in e.message]
    assert found and found[0] == (line, "error"), [str(e) for e in errors]


@pytest.mark.parametrize("sql, rule, line", REJECTED_ON_SQL_SERVER, ids=[r[1][:40] for r in REJECTED_ON_SQL_SERVER])
def test_sql_server_rules_hold_for_statements_only_the_backend_sends_too(sql, rule, line):
    assert any(rule in e.message and e.line == line for e in lint_batch("backend", 1, sql, portable=False))


@pytest.mark.parametrize("portable", [True, False], ids=["portable", "backend-only"])
@pytest.mark.parametrize("sql, rule", DUCKDB_ONLY, ids=[r[1] for r in DUCKDB_ONLY])
def test_duckdb_only_syntax_is_rejected_in_anything_sql_server_may_run(sql, rule, portable):
    errors = [str(e) for e in lint_batch("V9__sample.sql", 1, sql, portable=portable)]
    assert any("DuckDB-only syntax" in e and rule in e for e in errors), errors


def test_the_lines_of_duckdb_only_syntax_are_the_lines_it_is_on():
    [error] = lint_text("V9__sample.sql", "SELECT a\nFROM dbo.t\nORDER BY a\nLIMIT 5;")
    assert (error.batch, error.line) == (1, 4)


ACCEPTED_ON_SQL_SERVER = [
    "CREATE TABLE results.g (session_id NVARCHAR(64) NOT NULL PRIMARY KEY, [percent] INT NOT NULL);",
    'SELECT [key], [plan], "file" FROM [dbo].[percent] AS [rule];',
    # reserved words as functions, and in their keyword role
    "SELECT CURRENT_TIMESTAMP AS t, COALESCE(a, b) AS c, CONVERT(NVARCHAR(10), a) AS d, NULLIF(a, 1) AS e, "
    "TRY_CONVERT(INT, b) AS f FROM dbo.t;",
    "SELECT TOP 10 PERCENT a FROM dbo.t ORDER BY a;",
    "SELECT DATEPART(hour, ts) AS h, DATEDIFF(day, a, b) AS d, DATEADD(second, 5, ts) AS s FROM dbo.t;",
    "SELECT SUM(a) OVER (PARTITION BY b ORDER BY c ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s FROM dbo.t;",
    "SELECT STRING_AGG(x, N',') WITHIN GROUP (ORDER BY x COLLATE Latin1_General_100_BIN2) AS l FROM dbo.t;",
    "SELECT CURRENT_USER AS u, SESSION_USER AS s;",
    "MERGE INTO results.g AS tgt USING (SELECT ? AS id) AS src ON tgt.session_id = src.id "
    "WHEN MATCHED THEN UPDATE SET [percent] = ? WHEN NOT MATCHED THEN INSERT (session_id) VALUES (src.id);",
    # ORDER BY with TOP or OFFSET, lengths given, bounded keys, control characters built with NCHAR
    "SELECT a FROM (SELECT TOP 5 a FROM dbo.t ORDER BY a) AS s;",
    "SELECT a FROM dbo.t ORDER BY a OFFSET ? ROWS FETCH NEXT ? ROWS ONLY;",
    "SELECT CAST(a AS NVARCHAR(MAX)) AS a, CAST(b AS DECIMAL(18, 2)) AS b FROM dbo.t;",
    "CREATE TABLE dbo.k (a NVARCHAR(450) NOT NULL PRIMARY KEY, b NVARCHAR(MAX) NULL);",
    "SELECT TRANSLATE(x, CONCAT(N'.,/', NCHAR(92), NCHAR(10), NCHAR(13), NCHAR(9)), N'        ') AS y FROM dbo.t;",
    "SELECT a FROM dbo.t WHERE b LIKE N'C:\\dir\\%';",  # a backslash not before a line break is text
    "INSERT INTO dbo.list_items (a) VALUES (1);",
]


@pytest.mark.parametrize("sql", ACCEPTED_ON_SQL_SERVER)
def test_the_lint_accepts_quoted_keywords_keyword_roles_and_functions(sql):
    assert [str(e) for e in lint_text("V9__ok.sql", sql, warnings=True)] == []


def test_future_keywords_are_warnings_that_never_block():
    sql = "CREATE TABLE dbo.t (\n    id INT NOT NULL PRIMARY KEY,\n    role NVARCHAR(20) NOT NULL\n);"
    assert lint_text("V9__role.sql", sql) == []
    [warning] = lint_text("V9__role.sql", sql, warnings=True)
    assert (warning.severity, warning.line) == ("warning", 3) and "role is a T-SQL future keyword" in warning.message


def test_a_future_keyword_is_warned_about_once_per_batch():
    sql = "SELECT r.role FROM ref.rules AS r JOIN ref.roles AS o ON o.role = r.role;"
    assert [w.message.split()[0] for w in lint_text("V9__w.sql", sql, warnings=True)] == ["role", "ref"]


def test_the_keyword_lists_are_microsofts():
    assert {"PERCENT", "KEY", "PLAN", "FILE", "RULE", "USER", "OPEN", "CURRENT", "MERGE"} <= RESERVED_WORDS
    assert {"ROLE", "STATE", "REF", "LIMIT", "HOUR"} <= FUTURE_WORDS and not RESERVED_WORDS & FUTURE_WORDS
    assert len(RESERVED_WORDS) == 184  # 185 entries on the page, WITHIN GROUP being two words


def test_statements_only_the_backend_sends_skip_the_portable_subset_only():
    applock = (
        "SET NOCOUNT ON; DECLARE @rc INT; EXEC @rc = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', "
        "@LockOwner = 'Session', @LockTimeout = ?; SELECT @rc AS rc;"
    )
    assert lint_batch("mssql_backend", 1, applock, portable=False) == []
    assert any("DECLARE is procedural" in e.message for e in lint_batch("mssql_backend", 1, applock))
    assert lint_batch("mssql_backend", 1, "SET TRANSACTION ISOLATION LEVEL SNAPSHOT;", portable=False) == []
    assert lint_batch("grants", 1, "GRANT SELECT ON SCHEMA::results TO [scout-app];", portable=False) == []
    bare = "SET NOCOUNT ON; UPDATE results.g SET percent = ? WHERE session_id = ?;"
    assert [e.message.split(" is ")[0] for e in lint_batch("b", 1, bare, portable=False)] == ["percent"]


def test_a_lint_error_reads_file_batch_line_message():
    error = LintError("V3__x.sql", 2, 7, "something")
    assert str(error) == "V3__x.sql batch 2 line 7: something" and error.severity == "error"


def test_the_original_v020_is_rejected_for_its_bare_percent_and_the_amended_one_is_clean():
    original = (ROOT / "sql" / "amended" / "V020__montecarlo_results.c279b6b68ef7.sql").read_text(encoding="utf-8")
    [error] = lint_text("V020__montecarlo_results.sql", original)
    assert str(error).startswith("V020__montecarlo_results.sql batch 2 line 41: percent is a reserved T-SQL keyword")
    fixed = files.load_migration(ROOT / "sql" / "migrations" / "V020__montecarlo_results.sql")
    assert [str(e) for e in lint_text(fixed.script, "\nGO\n".join(fixed.batches))] == []
