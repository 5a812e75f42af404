"""The persona registry: two legacy persona tables consolidated with a provable zero-loss migration.

Every test seeds the legacy tables with the demo generator (182 dh personas with all 59 columns, org
personas overlapping them, conflicts, NULL next to empty text, invalid JSON) and works on DuckDB.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from scout.config import Settings
from scout.db import connect
from scout.db.base import Database
from scout.demo.persona_sources import LEGACY_TABLES, generate, insert_generated, seed_personas
from scout.registry import compiler, job
from scout.registry.canonical import canonical_json
from scout.registry.columns import DH_COLUMNS, ORG_COLUMNS, PRECEDENCE, SPECIFIC_INDUSTRIES
from tests.conftest import copy_of, prepared_template

REGISTRY_TABLES = (
    "registry.industries",
    "registry.roles",
    "registry.personas",
    "registry.persona_industry_mapping",
    "registry.persona_role_mapping",
    "registry.persona_conflicts",
    "registry.persona_invalid_json",
    "registry.json_forms",
)


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database with the demo legacy personas."""
    return prepared_template(tmp_path_factory, "registry", seed_personas)


@pytest.fixture
def db(seeded_template: Path, settings: Settings):
    with copy_of(seeded_template, settings) as database:
        yield database


@pytest.fixture
def consolidated(db: Database) -> Database:
    job.consolidate_in(db)
    return db


def snapshot(db: Database, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    return {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for t in tables}


def dicts(db: Database, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return db.query_dicts(sql, params)


# -- consolidate ----------------------------------------------------------------------------------------


def test_consolidating_twice_is_consolidating_once(consolidated: Database) -> None:
    first = snapshot(consolidated, REGISTRY_TABLES)
    again = job.consolidate_in(consolidated)
    assert again["changed"] == 0
    assert snapshot(consolidated, REGISTRY_TABLES) == first


def test_every_legacy_persona_lands_once_with_its_legacy_ids(consolidated: Database) -> None:
    dh = {r["unique_id"].upper(): r["id"] for r in dicts(consolidated, "SELECT id, unique_id FROM legacy.dh_personas")}
    org = {
        r["unique_id"].upper(): r["id"] for r in dicts(consolidated, "SELECT id, unique_id FROM legacy.org_personas")
    }
    personas = dicts(
        consolidated,
        "SELECT unique_id, dh_legacy_id, org_legacy_id FROM registry.personas WHERE registry_source <> 'scout'",
    )
    assert len(personas) == len(set(dh) | set(org))
    for p in personas:
        assert p["dh_legacy_id"] == dh.get(p["unique_id"].upper())
        assert p["org_legacy_id"] == org.get(p["unique_id"].upper())


def _industry_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in dicts(
        db,
        "SELECT m.persona_id, m.industry_id, m.is_primary, m.industry_specific_id, m.metadata, i.code "
        "FROM registry.persona_industry_mapping m JOIN registry.industries i ON i.industry_id = m.industry_id",
    ):
        rows.setdefault(r["persona_id"], []).append({**r, "sources": json.loads(r["metadata"])["sources"]})
    return rows


def _role_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in dicts(db, "SELECT persona_id, role_id, is_primary, metadata FROM registry.persona_role_mapping"):
        rows.setdefault(r["persona_id"], []).append({**r, "sources": json.loads(r["metadata"])["sources"]})
    return rows


def _find(
    source: str,
    column: Any,
    row: dict[str, Any],
    persona: dict[str, Any],
    conflicts: dict[tuple[str, str], dict[str, Any]],
    industries: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    invalid: dict[tuple[str, str], str],
) -> bool:
    """Is ``row[column]`` of legacy ``source`` in the registry, where the column map says it lands?"""
    value = row[column.name]
    conflict = conflicts.get((persona["unique_id"], column.name))
    if column.place == "key":
        return (conflict[f"{source}_value"] if conflict else persona["unique_id"]) == value
    if column.place == "legacy_id":
        return persona[column.target] == value
    if column.place == "typed":
        return persona[column.target] == value
    if column.place == "shared":
        if conflict is not None:
            return conflict[f"{source}_value"] == value
        return persona[column.target] == value
    if column.place == "json":
        if value is None:
            return persona[column.name] is None and (persona["persona_id"], column.name) not in invalid
        canonical = canonical_json(value)
        if canonical is None:
            return persona[column.name] is None and invalid.get((persona["persona_id"], column.name)) == value
        return persona[column.name] == canonical and json.loads(canonical) == json.loads(value)
    if column.place == "profile":
        profile = json.loads(persona["profile"], parse_float=Decimal)
        return column.name in profile and profile[column.name] == value
    tag = f"{source}.{column.name}"
    if column.place == "industry":
        carried = [m for m in industries if tag in m["sources"]]
        if value is None:
            return carried == []
        if column.target:  # an industry-specific id: on the mapping of that industry
            return [(m["code"], m["industry_specific_id"]) for m in carried] == [(column.target, value)]
        return [m["industry_id"] for m in carried] == [value]
    if column.place == "role":
        carried = [m for m in roles if tag in m["sources"]]
        return [m["role_id"] for m in carried] == ([] if value is None else [value])
    raise AssertionError(column.place)


def test_every_legacy_value_of_all_59_columns_is_findable_in_the_registry(consolidated: Database) -> None:
    """Zero loss, checked in Python independently of the SQL that carried the values."""
    db = consolidated
    personas = {p["unique_id"].upper(): p for p in dicts(db, "SELECT * FROM registry.personas")}
    conflicts = {(c["unique_id"], c["column_name"]): c for c in dicts(db, "SELECT * FROM registry.persona_conflicts")}
    invalid = {
        (r["persona_id"], r["column_name"]): r["raw_text"]
        for r in dicts(db, "SELECT * FROM registry.persona_invalid_json")
    }
    industries, roles = _industry_rows(db), _role_rows(db)
    walked: dict[str, set[str]] = {"dh": set(), "org": set()}
    values = 0
    for source, table, columns in (
        ("dh", "legacy.dh_personas", DH_COLUMNS),
        ("org", "legacy.org_personas", ORG_COLUMNS),
    ):
        rows = dicts(db, f"SELECT * FROM {table}")
        assert rows
        for row in rows:
            persona = personas[row["unique_id"].upper()]
            for column in columns:
                found = _find(
                    source,
                    column,
                    row,
                    persona,
                    conflicts,
                    industries.get(persona["persona_id"], []),
                    roles.get(persona["persona_id"], []),
                    invalid,
                )
                assert found, f"{table}.{column.name} of {row['unique_id']} = {row[column.name]!r} is lost"
                walked[source].add(column.name)
                values += 1
    assert len(walked["dh"]) == 59 and len(walked["org"]) == 9
    assert values == 59 * 182 + 9 * len(dicts(db, "SELECT id FROM legacy.org_personas"))


def test_the_demo_data_holds_the_hazards_the_walk_must_survive(consolidated: Database) -> None:
    db = consolidated
    assert db.query_one("SELECT COUNT(*) FROM legacy.dh_personas")[0] == 182
    assert db.query_one("SELECT COUNT(*) FROM legacy.dh_personas WHERE notes IS NULL")[0] > 0
    assert db.query_one("SELECT COUNT(*) FROM legacy.dh_personas WHERE notes = ''")[0] > 0
    assert db.query_one("SELECT COUNT(*) FROM registry.persona_invalid_json")[0] > 0
    assert db.query_one("SELECT COUNT(*) FROM registry.persona_conflicts")[0] > 0
    multi = db.query_one(
        "SELECT COUNT(*) FROM (SELECT persona_id FROM registry.persona_industry_mapping "
        "GROUP BY persona_id HAVING COUNT(*) > 1) AS m"
    )[0]
    assert multi > 10  # personas in several industries
    dangling = {r[0] for r in db.query("SELECT origin FROM registry.industries")} | {
        r[0] for r in db.query("SELECT origin FROM registry.roles")
    }
    assert "dangling" in dangling  # ids the reference tables lack are kept, not dropped


def test_conflicts_are_recorded_with_both_values_and_the_precedence_decides(consolidated: Database) -> None:
    db = consolidated
    rows = dicts(
        db,
        "SELECT c.*, p.name, p.seniority_level FROM registry.persona_conflicts c "
        "JOIN registry.personas p ON p.unique_id = c.unique_id WHERE c.column_name IN ('name', 'seniority_level')",
    )
    assert rows
    for c in rows:
        assert c["dh_value"] != c["org_value"]
        winner = PRECEDENCE[c["column_name"]]
        expected = (
            c[f"{winner}_value"]
            if c[f"{winner}_value"] is not None
            else c["org_value" if winner == "dh" else "dh_value"]
        )
        assert c[c["column_name"]] == expected
        assert c["chosen_source"] in ("dh", "org") and c["precedence_rule"]
    # NULL against empty text is a conflict too: neither is dropped
    pairs = {
        (c["dh_value"], c["org_value"]) for c in dicts(db, "SELECT dh_value, org_value FROM registry.persona_conflicts")
    }
    assert pairs & {("", None), (None, "")}


def test_the_industry_specific_ids_map_to_their_industries(consolidated: Database) -> None:
    codes = {r[0] for r in consolidated.query("SELECT code FROM registry.industries")}
    assert set(SPECIFIC_INDUSTRIES) <= codes
    primaries = consolidated.query(
        "SELECT persona_id, COUNT(*) FROM registry.persona_industry_mapping WHERE is_primary = 1 GROUP BY persona_id "
        "HAVING COUNT(*) > 1"
    )
    assert primaries == []


def test_invalid_json_is_kept_verbatim_and_valid_json_in_canonical_form(consolidated: Database) -> None:
    db = consolidated
    for raw, persona_column in db.query(
        "SELECT i.raw_text, p.responsibilities FROM registry.persona_invalid_json i "
        "JOIN registry.personas p ON p.persona_id = i.persona_id WHERE i.column_name = 'responsibilities'"
    ):
        assert canonical_json(raw) is None and persona_column is None
    pretty = db.query_one(
        "SELECT d.responsibilities, p.responsibilities FROM legacy.dh_personas d "
        "JOIN registry.personas p ON p.dh_legacy_id = d.id WHERE d.responsibilities LIKE CONCAT('%', NCHAR(10), '%')"
    )
    assert pretty is not None
    assert "\n" not in pretty[1] and json.loads(pretty[1]) == json.loads(pretty[0])


def test_canonical_json_keeps_numbers_as_written_and_refuses_what_would_lose_a_value() -> None:
    assert canonical_json('{ "b": 1.50, "a": [1, "x"] }') == '{"a":[1,"x"],"b":1.50}'
    assert canonical_json('{"a": 1, "a": 2}') is None  # one of the values would be lost
    assert canonical_json("[NaN]") is None
    assert canonical_json("['single quotes']") is None
    assert canonical_json('"M\\u00fcller"') == '"Müller"'


def test_the_shopper_personas_are_in_the_registry_and_every_rule_refers_to_one(consolidated: Database) -> None:
    rows = consolidated.query(
        "SELECT r.role_name, p.name, i.code FROM ref.persona_rules r "
        "JOIN registry.persona_rule_links l ON l.rule_id = r.rule_id "
        "JOIN registry.personas p ON p.persona_id = l.persona_id "
        "JOIN registry.persona_industry_mapping m ON m.persona_id = p.persona_id AND m.is_primary = 1 "
        "JOIN registry.industries i ON i.industry_id = m.industry_id"
    )
    assert len(rows) == 12
    assert all(role == name and code == "retail" for role, name, code in rows)


# -- compare --------------------------------------------------------------------------------------------


def test_compare_passes_after_consolidate_with_every_column_at_100_percent(consolidated: Database) -> None:
    result = job.compare_in(consolidated)
    assert result["passed"], result["mismatches"]
    assert result["dh_personas"]["old_rows"] == 182
    assert set(result["dh_personas"]["columns"]) == {c.name for c in DH_COLUMNS}
    assert all(c["match_rate"] == 1.0 for c in result["dh_personas"]["columns"].values())
    assert all(c["match_rate"] == 1.0 for c in result["org_personas"]["columns"].values())
    assert consolidated.query_one(
        "SELECT passed FROM registry.compare_runs WHERE compare_id = ?", (result["compare_id"],)
    )[0]


def test_compare_before_consolidate_reports_every_persona_only_in_old(db: Database) -> None:
    result = job.compare_in(db)
    assert not result["passed"]
    assert result["dh_personas"]["only_in_old"]["rows"] == 182
    assert result["dh_personas"]["columns"]["name"]["match_rate"] == 0.0


def _a_row_with(db: Database, table: str, column: str, condition: str) -> str:
    row = db.query_one(f"SELECT MIN(unique_id) FROM {table} WHERE {condition}")
    assert row and row[0], f"the demo data has no {table} row with {condition}"
    return row[0]


#: (table, column, rows to pick from, new value as SQL, expected kind): one change per place of the map.
SINGLE_CHANGES = [
    ("legacy.dh_personas", "title", "title IS NOT NULL AND title <> ''", "CONCAT(title, 'x')", "different"),
    ("legacy.dh_personas", "title", "title = ''", "NULL", "null_in_old"),
    ("legacy.dh_personas", "notes", "notes IS NULL", "''", "null_in_new"),
    ("legacy.dh_personas", "name", "name IS NOT NULL AND name <> ''", "CONCAT(name, ' ')", "different"),
    ("legacy.dh_personas", "decision_authority", "decision_authority = 'Influencer'", "'influencer'", "different"),
    ("legacy.dh_personas", "responsibilities", "responsibilities LIKE '[%]'", "'[\"changed\"]'", "different"),
    ("legacy.dh_personas", "goals", "goals LIKE '[%]'", "CONCAT(goals, ' ')", "different"),
    ("legacy.dh_personas", "years_experience", "years_experience IS NOT NULL", "years_experience + 1", "different"),
    ("legacy.dh_personas", "annual_budget_usd", "annual_budget_usd IS NOT NULL", "NULL", "null_in_old"),
    (
        "legacy.dh_personas",
        "motivations",
        "motivations IS NOT NULL AND motivations <> ''",
        "'says \"no\"'",
        "different",
    ),
    ("legacy.dh_personas", "is_active", "is_active", "false", "different"),
    ("legacy.dh_personas", "pharma_id", "pharma_id IS NOT NULL", "CONCAT(pharma_id, '9')", "different"),
    ("legacy.dh_personas", "industry_id", "industry_id = 4", "5", "different"),
    ("legacy.dh_personas", "primary_role_id", "primary_role_id = 101", "102", "different"),
    ("legacy.dh_personas", "created_at", "created_at IS NOT NULL", "created_at + INTERVAL 1 SECOND", "different"),
    ("legacy.org_personas", "department_id", "department_id IS NOT NULL", "department_id + 100", "different"),
    ("legacy.org_personas", "name", "name IS NOT NULL AND name <> ''", "'Somebody else'", "different"),
    ("legacy.org_personas", "industry_id", "industry_id = 2", "3", "different"),
]


@pytest.mark.parametrize(
    ("table", "column", "pick", "new_value", "kind"),
    SINGLE_CHANGES,
    ids=[f"{t[9:12]}.{c}-{k}" for t, c, _, _, k in SINGLE_CHANGES],
)
def test_compare_names_the_exact_column_and_key_after_any_single_legacy_value_changes(
    consolidated: Database, table: str, column: str, pick: str, new_value: str, kind: str
) -> None:
    db = consolidated
    assert job.compare_in(db)["passed"]
    key = _a_row_with(db, table, column, pick)
    db.connection.execute(
        f"UPDATE {table} SET {column} = {new_value} WHERE unique_id = ?", [key]
    )  # the legacy app writes

    result = job.compare_in(db)
    assert not result["passed"]
    assert [(m["table"], m["column"], m["kind"], m["rows"], m["first_key"]) for m in result["mismatches"]] == [
        (table, column, kind, 1, key)
    ]
    side = "dh_personas" if "dh_" in table else "org_personas"
    rate = result[side]["columns"][column]["match_rate"]
    assert rate == round(1 - 1 / result[side]["old_rows"], 6)


#: (statement that edits the registry behind the consolidation's back, column, kind): the first pass reads
#: every registry table back, so an edit in any of them is found, and named, like a legacy change.
REGISTRY_EDITS = [
    (
        "UPDATE registry.personas SET title = CONCAT(title, 'x') WHERE dh_legacy_id = 7",
        "title",
        "different",
    ),
    (
        "UPDATE registry.personas SET profile = REPLACE(profile, '\"version_number\":1', '\"version_number\":2') "
        "WHERE dh_legacy_id = (SELECT MIN(dh_legacy_id) FROM registry.personas WHERE profile LIKE '%\"version_number\":1,%')",
        "version_number",
        "different",
    ),
    (
        "UPDATE registry.persona_industry_mapping SET industry_specific_id = CONCAT(industry_specific_id, '9') "
        "WHERE persona_id = (SELECT MIN(persona_id) FROM registry.persona_industry_mapping "
        'WHERE metadata = \'{"sources":["dh.pharma_id"]}\') AND metadata = \'{"sources":["dh.pharma_id"]}\'',
        "pharma_id",
        "different",
    ),
    (
        'DELETE FROM registry.persona_role_mapping WHERE metadata = \'{"sources":["dh.primary_role_id"]}\' '
        "AND persona_id = (SELECT MIN(persona_id) FROM registry.persona_role_mapping "
        'WHERE metadata = \'{"sources":["dh.primary_role_id"]}\')',
        "primary_role_id",
        "null_in_new",
    ),
    (
        "UPDATE registry.persona_conflicts SET dh_value = CONCAT(dh_value, 'x') WHERE column_name = 'description' AND unique_id = "
        "(SELECT MIN(unique_id) FROM registry.persona_conflicts WHERE column_name = 'description' AND dh_value <> '')",
        "description",
        "different",
    ),
    (
        "UPDATE registry.persona_invalid_json SET raw_text = CONCAT(raw_text, 'x') WHERE column_name = 'goals' AND persona_id = "
        "(SELECT MIN(persona_id) FROM registry.persona_invalid_json WHERE column_name = 'goals')",
        "goals",
        "different",
    ),
]


@pytest.mark.parametrize(("edit", "column", "kind"), REGISTRY_EDITS, ids=[c for _, c, _ in REGISTRY_EDITS])
def test_compare_finds_a_registry_value_edited_behind_its_back(
    consolidated: Database, edit: str, column: str, kind: str
) -> None:
    consolidated.connection.execute(edit)
    result = job.compare_in(consolidated)
    assert not result["passed"]
    assert [(m["table"], m["column"], m["kind"], m["rows"]) for m in result["mismatches"]] == [
        ("legacy.dh_personas", column, kind, 1)
    ]


def test_texts_with_any_control_character_make_valid_json_and_compare_equal(consolidated: Database) -> None:
    db = consolidated
    text = 'tab\there "quoted" back\\slash bell\x07 unit\x1f line\nend / slash'
    db.connection.execute("UPDATE legacy.dh_personas SET notes = ? WHERE id = 3", [text])
    job.consolidate_in(db)
    [(profile,)] = db.query("SELECT profile FROM registry.personas WHERE dh_legacy_id = 3")
    assert json.loads(profile)["notes"] == text
    assert job.compare_in(db)["passed"]


def test_compare_checks_key_ranges_first_and_looks_at_rows_only_where_a_range_differs(
    consolidated: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiler, "RANGE_ROWS", 50)  # 182 personas: four key ranges
    clean = job.compare_in(consolidated)
    assert clean["dh_personas"]["key_ranges"] == 4 and clean["dh_personas"]["differing_ranges"] == 0
    consolidated.connection.execute("UPDATE legacy.dh_personas SET kpis = 'changed' WHERE id = 120")
    changed = job.compare_in(consolidated)
    assert changed["dh_personas"]["differing_ranges"] == 1
    assert [(m["column"], m["first_key"]) for m in changed["mismatches"]] == [("kpis", "dh-000120")]


# -- dual write -------------------------------------------------------------------------------------------


def test_a_legacy_row_added_during_dual_write_appears_after_the_next_sync(consolidated: Database) -> None:
    db = consolidated
    legacy_before = snapshot(db, LEGACY_TABLES)
    extra = generate(1, seed=99)["legacy.dh_personas"][0] | {"id": 9001, "unique_id": "dh-new-9001"}
    columns = list(extra)
    db.executemany(
        f"INSERT INTO legacy.dh_personas ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [tuple(extra[c] for c in columns)],
    )
    legacy_with_new_row = snapshot(db, LEGACY_TABLES)
    assert legacy_with_new_row != legacy_before

    result = job.sync_in(db)
    assert result["drift_before"]["legacy.dh_personas"] == 1
    assert result["carried"] == 1 and result["passed"]
    assert result["drift_after"] == {"legacy.dh_personas": 0, "legacy.org_personas": 0}
    assert db.query_one("SELECT dh_legacy_id FROM registry.personas WHERE unique_id = 'dh-new-9001'")[0] == 9001
    assert snapshot(db, LEGACY_TABLES) == legacy_with_new_row  # the sync never writes legacy

    quiet = job.sync_in(db)
    assert quiet["carried"] == 0 and quiet["passed"]


def test_changed_legacy_values_are_carried_by_the_sync_and_reported_as_drift(consolidated: Database) -> None:
    db = consolidated
    db.connection.execute("UPDATE legacy.dh_personas SET title = 'Acting CMO' WHERE id = 1")
    db.connection.execute(
        "UPDATE legacy.org_personas SET seniority_level = 'VP' WHERE id = (SELECT MIN(id) FROM legacy.org_personas)"
    )
    dh_only = _a_row_with(
        db, "legacy.dh_personas", "unique_id", "unique_id NOT IN (SELECT LOWER(unique_id) FROM legacy.org_personas)"
    )
    db.connection.execute(  # the org chart learns of a persona only dh knew: its org id joins the registry row
        "INSERT INTO legacy.org_personas (id, unique_id, name, industry_id, primary_role_id, department_id, function_id, "
        "seniority_level, description) VALUES (7777, ?, 'Org name', 5, 105, 1, 1, '', NULL)",
        [dh_only],
    )
    result = job.sync_in(db)
    assert result["drift_before"]["legacy.dh_personas"] >= 1 and result["drift_before"]["legacy.org_personas"] >= 2
    assert result["passed"], result["mismatches_after"]
    assert db.query_one("SELECT title FROM registry.personas WHERE dh_legacy_id = 1")[0] == "Acting CMO"
    assert db.query_one("SELECT org_legacy_id FROM registry.personas WHERE unique_id = ?", (dh_only,))[0] == 7777


# -- rollback -----------------------------------------------------------------------------------------------


def _legacy_bytes(db: Database) -> str:
    """A digest of every legacy row, every value in its exact type and spelling."""
    text = repr(snapshot(db, LEGACY_TABLES))
    return hashlib.sha256(text.encode()).hexdigest()


def test_undo_leaves_the_legacy_tables_byte_identical(migrated: Settings) -> None:
    from scout.migrations import job as migrations

    with connect(migrated) as db:
        seed_personas(db)
        before = _legacy_bytes(db)
        legacy_rows = snapshot(db, LEGACY_TABLES)
        job.consolidate_in(db)
        job.sync_in(db)
        job.compare_in(db)
    migrations.undo(trigger="cli", target="40", settings=migrated)
    with connect(migrated) as db:
        assert not db.table_exists("registry", "personas")
        assert snapshot(db, LEGACY_TABLES) == legacy_rows
        assert _legacy_bytes(db) == before
    # forwards again: the registry rebuilds the same, and (legacy holding rows now) cutover waits for the compare
    migrations.apply(trigger="cli", target="43", settings=migrated)
    with connect(migrated) as db:
        job.consolidate_in(db)
        assert job.compare_in(db)["passed"]


def test_the_demo_legacy_data_is_deterministic_for_a_seed() -> None:
    assert generate(182, 7) == generate(182, 7)
    assert generate(182, 7) != generate(182, 8)
    data = generate()
    assert len(data["legacy.dh_personas"]) == 182 and all(len(r) == 59 for r in data["legacy.dh_personas"])
    dh = {r["unique_id"].upper() for r in data["legacy.dh_personas"]}
    org = {r["unique_id"].upper() for r in data["legacy.org_personas"]}
    assert 0 < len(dh & org) < len(dh) and org - dh  # overlapping, and some only org knows


def test_seeding_twice_needs_replace(migrated: Settings) -> None:
    from scout.errors import InvalidInput

    with connect(migrated) as db:
        seed_personas(db)
        with pytest.raises(InvalidInput, match="--replace"):
            seed_personas(db)
        assert seed_personas(db, replace=True, seed=3)["rows"]["legacy.dh_personas"] == 182


def test_a_unique_id_twice_in_one_legacy_table_stops_the_consolidation(migrated: Settings) -> None:
    from scout.errors import InvalidInput

    data = generate(5)
    data["legacy.dh_personas"][1]["unique_id"] = data["legacy.dh_personas"][0]["unique_id"].upper() + " "
    with connect(migrated) as db:
        insert_generated(db, data)
        with pytest.raises(InvalidInput, match="(?i)dh-000001"):
            job.consolidate_in(db)
        assert db.query_one("SELECT COUNT(*) FROM registry.personas WHERE registry_source <> 'scout'")[0] == 0
