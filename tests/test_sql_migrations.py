"""Every migration file of the product is portable T-SQL: it lints, parses as T-SQL, and runs on DuckDB —
forwards, backwards with its undo file, and forwards again."""

from pathlib import Path

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.db.translate import parse_tsql
from scout.migrations import files, runner
from scout.migrations.lint import lint_migration

TEST_DATA = Path(__file__).resolve().parent / "data"
MIGRATIONS = files.discover()
ALL = list(MIGRATIONS.versioned) + list(MIGRATIONS.undo.values()) + list(MIGRATIONS.repeatable)


@pytest.mark.parametrize("migration", ALL, ids=lambda m: m.script)
def test_each_file_lints_and_parses_as_tsql(migration):
    assert [str(e) for e in lint_migration(migration)] == []
    for batch in migration.batches:
        assert parse_tsql(batch)


def test_every_migration_runs_on_duckdb_forwards_back_and_forwards(tmp_path):
    db = DuckDBDatabase(str(tmp_path / "all.duckdb"))
    try:
        runner.apply(db, MIGRATIONS)
        first = min((m.version for m in MIGRATIONS.versioned if m.version in MIGRATIONS.undo), key=files.version_key)
        back_to = str(int(first.split(".")[0]) - 1)
        runner.undo(db, MIGRATIONS, target=back_to)
        assert runner.apply(db, MIGRATIONS)["applied"]
        assert runner.status(db, MIGRATIONS)["pending"] == []
    finally:
        db.close()


def test_every_versioned_migration_above_the_source_baseline_has_an_undo_file():
    missing = [
        m.script
        for m in MIGRATIONS.versioned
        if files.version_key(m.version) > (2,) and m.version not in MIGRATIONS.undo
    ]
    assert missing == []


def test_persona_seed_matches_the_domain_reference():
    """tests/data/persona_rules.csv is a copy of the domain reference (see tests/data/README.md)."""
    import csv

    with open(TEST_DATA / "persona_rules.csv", newline="", encoding="utf-8") as fh:
        expected = {row["role_name"]: row for row in csv.DictReader(fh)}
    seed = next(m for m in MIGRATIONS.versioned if m.script.startswith("V004__"))
    for role, row in expected.items():
        assert f"N'{role}'" in seed.batches[0]
        assert f"N'{row['include_terms']}'" in seed.batches[0]
    assert len(expected) == 12
