"""The schema all versioned migrations build together, checked as SQL Server would check it.

Each file can be fine alone and the whole still fail on SQL Server: a foreign key whose type differs
from the key it references (a BIGINT pointing at an INT key once broke a Scout schema), a foreign key to
columns that are no key, a table created by two files. DuckDB is no judge of these, so the lint is.
"""

import pytest
import sqlglot

from scout.migrations import files
from scout.sql.schema_lint import column_type, lint_schema


def errors(*migrations: tuple[str, list[str]]) -> list[str]:
    return [str(e) for e in lint_schema(migrations)]


RUNS = (
    "V1__runs.sql",
    ["CREATE TABLE dbo.runs (\n    run_id INT NOT NULL PRIMARY KEY,\n    code NVARCHAR(36) NOT NULL UNIQUE\n);"],
)


def test_the_product_migrations_build_a_schema_sql_server_accepts():
    migrations = files.discover()
    assert lint_schema((m.script, m.batches) for m in migrations.versioned) == []


def test_an_inline_foreign_key_of_another_type_is_an_error_at_its_line():
    found = errors(
        RUNS,
        (
            "V2__parts.sql",
            [
                "CREATE TABLE dbo.parts (\n    part_id INT NOT NULL PRIMARY KEY,\n"
                "    run_id BIGINT NOT NULL REFERENCES dbo.runs (run_id)\n);"
            ],
        ),
    )
    assert found == [
        "V2__parts.sql batch 1 line 3: foreign key column dbo.parts.run_id BIGINT must match the "
        "referenced column dbo.runs.run_id INT (SQL Server: Msg 1778)"
    ]


def test_a_table_constraint_of_another_length_is_an_error_too():
    found = errors(
        RUNS,
        (
            "V2__parts.sql",
            [
                "CREATE TABLE dbo.parts (\n    code NVARCHAR(64) NOT NULL,\n"
                "    CONSTRAINT fk_parts_runs FOREIGN KEY (code) REFERENCES dbo.runs (code)\n);"
            ],
        ),
    )
    assert found == [
        "V2__parts.sql batch 1 line 3: foreign key column dbo.parts.code NVARCHAR(64) must match the "
        "referenced column dbo.runs.code NVARCHAR(36) (SQL Server: Msg 1753)"
    ]


def test_a_foreign_key_added_by_alter_table_is_checked_against_columns_added_later():
    found = errors(
        (
            "V1__money.sql",
            ["CREATE TABLE dbo.prices (price_id INT NOT NULL PRIMARY KEY, amount DECIMAL(18, 2) NOT NULL)"],
        ),
        (
            "V2__lines.sql",
            [
                "CREATE TABLE dbo.lines (line_id INT NOT NULL PRIMARY KEY)",
                "ALTER TABLE dbo.lines ADD price_id SMALLINT NULL;\n"
                "ALTER TABLE dbo.lines ADD CONSTRAINT fk_lines_prices FOREIGN KEY (price_id) "
                "REFERENCES dbo.prices (price_id);",
            ],
        ),
    )
    assert found == [
        "V2__lines.sql batch 2 line 2: foreign key column dbo.lines.price_id SMALLINT must match the "
        "referenced column dbo.prices.price_id INT (SQL Server: Msg 1778)"
    ]


def test_a_column_added_with_its_own_references_is_checked_too():
    found = errors(
        RUNS,
        (
            "V2__parts.sql",
            [
                "CREATE TABLE dbo.parts (part_id INT NOT NULL PRIMARY KEY)",
                "ALTER TABLE dbo.parts ADD run_id NVARCHAR(36) NULL REFERENCES dbo.runs",
            ],
        ),
    )
    assert found == [
        "V2__parts.sql batch 2 line 1: foreign key column dbo.parts.run_id NVARCHAR(36) must match the "
        "referenced column dbo.runs.run_id INT (SQL Server: Msg 1778)"
    ]


def test_an_altered_column_type_is_what_later_foreign_keys_see():
    widened = ("V2__widen.sql", ["ALTER TABLE dbo.runs ALTER COLUMN run_id BIGINT NOT NULL"])
    child = ("V3__child.sql", ["CREATE TABLE dbo.child (run_id BIGINT NOT NULL REFERENCES dbo.runs (run_id))"])
    assert errors(RUNS, widened, child) == []
    assert len(errors(RUNS, child)) == 1


def test_types_compare_with_sql_servers_defaults_spelled_out():
    def of(sql: str) -> str:
        return column_type(sqlglot.parse_one(f"CREATE TABLE t (c {sql})", read="tsql").this.expressions[0].args["kind"])

    assert [of(t) for t in ("NVARCHAR", "DECIMAL", "DECIMAL(9)", "DATETIME2", "DATETIME2(7)", "FLOAT", "INT")] == [
        "NVARCHAR(1)",
        "DECIMAL(18,0)",
        "DECIMAL(9,0)",
        "DATETIME2(7)",
        "DATETIME2(7)",
        "FLOAT(53)",
        "INT",
    ]
    same = errors(
        (
            "V1__a.sql",
            [
                "CREATE TABLE a (k DECIMAL(18, 0) NOT NULL PRIMARY KEY)",
                "CREATE TABLE b (k DECIMAL NOT NULL REFERENCES a (k))",
            ],
        )
    )
    assert same == []


def test_a_foreign_key_to_columns_that_are_no_key_is_an_error():
    found = errors(
        (
            "V1__a.sql",
            [
                "CREATE TABLE dbo.a (id INT NOT NULL PRIMARY KEY, label NVARCHAR(20) NOT NULL)",
                "CREATE TABLE dbo.b (label NVARCHAR(20) NOT NULL REFERENCES dbo.a (label))",
            ],
        )
    )
    assert found == [
        "V1__a.sql batch 2 line 1: foreign key references dbo.a (label), which is not its PRIMARY KEY "
        "or a UNIQUE key (SQL Server: Msg 1776)"
    ]


def test_primary_keys_unique_constraints_and_unique_indexes_are_keys():
    assert (
        errors(
            RUNS,
            (
                "V2__ok.sql",
                [
                    "CREATE TABLE dbo.a (run_id INT NOT NULL REFERENCES dbo.runs (run_id), code NVARCHAR(36) REFERENCES dbo.runs (code))",
                    "CREATE TABLE dbo.b (run_id INT NOT NULL REFERENCES dbo.runs)",  # no columns: the primary key
                    "CREATE TABLE dbo.c (x INT NOT NULL, y INT NOT NULL)",
                    "CREATE UNIQUE INDEX ux_c ON dbo.c (y, x)",
                    "CREATE TABLE dbo.d (x INT, y INT, CONSTRAINT fk_d FOREIGN KEY (x, y) REFERENCES dbo.c (x, y))",
                    "CREATE TABLE dbo.e (id INT NOT NULL PRIMARY KEY, parent INT NULL REFERENCES dbo.e (id))",  # self-reference
                ],
            ),
        )
        == []
    )


def test_a_foreign_key_to_a_table_no_migration_creates_is_an_error():
    assert errors(("V1__a.sql", ["CREATE TABLE dbo.a (id INT REFERENCES dbo.nope (id))"])) == [
        "V1__a.sql batch 1 line 1: foreign key references dbo.nope, which no earlier migration creates "
        "(SQL Server: Msg 1767)"
    ]


def test_a_table_created_by_two_files_is_an_error_naming_both():
    found = errors(
        ("V1__a.sql", ["CREATE SCHEMA ref", "-- the rules\nCREATE TABLE ref.rules (id INT)"]),
        ("V2__b.sql", ["\n\nCREATE TABLE REF.Rules (id INT, name NVARCHAR(10))"]),
    )
    assert found == [
        "V2__b.sql batch 1 line 3: table REF.Rules is already created by V1__a.sql batch 2 line 2: a table "
        "is created once (SQL Server: Msg 2714); change it with ALTER TABLE, or DROP it first"
    ]


def test_unqualified_names_are_in_dbo():
    assert len(errors(("V1__a.sql", ["CREATE TABLE t (id INT)"]), ("V2__b.sql", ["CREATE TABLE dbo.t (id INT)"]))) == 1


def test_a_table_dropped_by_a_migration_in_between_may_be_created_again():
    assert (
        errors(
            ("V1__a.sql", ["CREATE TABLE dbo.t (id INT)"]),
            ("V2__b.sql", ["DROP TABLE dbo.t"]),
            ("V3__c.sql", ["CREATE TABLE dbo.t (id BIGINT)"]),
        )
        == []
    )


def test_the_order_given_is_the_order_checked():
    create, drop = ("V2__create.sql", ["CREATE TABLE dbo.t (id INT)"]), ("V3__drop.sql", ["DROP TABLE dbo.t"])
    assert errors(create, drop, create) == []
    assert len(errors(create, create, drop)) == 1


def test_max_columns_made_earlier_cannot_become_keys_later():
    found = errors(
        ("V1__a.sql", ["CREATE TABLE dbo.t (a NVARCHAR(MAX) NULL, b INT NULL)"]),
        ("V2__b.sql", ["CREATE INDEX ix_t_a ON dbo.t (b, a)", "ALTER TABLE dbo.t ADD CONSTRAINT uq_t_a UNIQUE (a)"]),
    )
    assert found == [
        "V2__b.sql batch 1 line 1: a NVARCHAR(MAX) cannot be a key column of an index (SQL Server: Msg 1919): use a "
        "bounded length",
        "V2__b.sql batch 2 line 1: a NVARCHAR(MAX) cannot be a key column of a UNIQUE constraint (SQL Server: Msg "
        "1919): use a bounded length",
    ]


@pytest.mark.parametrize("batch", ["CREATE TABLE dbo.t (a INT,", "DECLARE @x INT; SELECT @x;"])
def test_batches_the_batch_lint_rejects_are_left_to_it(batch):
    assert errors(("V1__a.sql", [batch])) == []
