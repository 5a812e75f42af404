"""Persona targeting: people matched to registry personas by rules kept as data, explainably and
reproducibly; strategies recommended per persona; keys typed as what they reference."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scout.config import Settings
from scout.db.base import Database
from scout.demo.persona_sources import AS_OF, seed_personas
from scout.errors import InvalidInput, NotFound
from scout.migrations import files
from scout.registry import job as registry
from scout.sql.schema_lint import lint_schema
from scout.targeting import job
from scout.targeting.compiler import compile_match
from scout.targeting.rules import load_rules, load_weights
from tests.conftest import copy_of, prepared_template


def _seeded_and_consolidated(db: Database) -> None:
    seed_personas(db)
    registry.consolidate_in(db)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated, demo-seeded (legacy personas and the campaign tool's sources) and consolidated, once."""
    return prepared_template(tmp_path_factory, "targeting", _seeded_and_consolidated)


@pytest.fixture
def db(template: Path, settings: Settings):
    with copy_of(template, settings) as database:
        yield database


def targets(db: Database) -> list[dict]:
    return db.query_dicts(
        "SELECT t.person_id, t.persona_id, t.rule_id, t.score, t.confidence, t.reasons, t.rules_checksum, t.as_of, "
        "p.title, r.priority FROM registry.targets t JOIN registry.persons p ON p.person_id = t.person_id "
        "JOIN registry.persona_match_rules r ON r.rule_id = t.rule_id ORDER BY t.person_id"
    )


# -- keys -------------------------------------------------------------------------------------------------


def test_targets_keys_have_exactly_the_types_they_reference(db: Database) -> None:
    types = {
        (table, column): data_type
        for table, column, data_type in db.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'registry'"
        )
    }
    assert types[("targets", "person_id")] == types[("persons", "person_id")] == "INTEGER"
    assert types[("targets", "persona_id")] == types[("personas", "persona_id")]


def test_the_schema_lint_rejects_a_bigint_target_person_id() -> None:
    """The bug that once broke the campaign tool: targets.person_id BIGINT -> persons.person_id INT."""
    migrations = files.discover().versioned
    as_written = [(m.script, m.batches) for m in migrations]
    assert lint_schema(as_written) == []
    broken = [
        (
            m.script,
            [
                b.replace(
                    "person_id INT NOT NULL PRIMARY KEY REFERENCES", "person_id BIGINT NOT NULL PRIMARY KEY REFERENCES"
                )
                for b in m.batches
            ],
        )
        for m in migrations
    ]
    errors = [str(e) for e in lint_schema(broken)]
    assert len(errors) == 1
    assert "V042__persona_targeting.sql" in errors[0] and "registry.persons.person_id INT" in errors[0]


# -- matching ----------------------------------------------------------------------------------------------


def test_every_target_is_explained_by_its_reasons_and_the_weights(db: Database) -> None:
    result = job.match_in(db, as_of=AS_OF)
    assert result["matched"] > 500 and result["unmatched"] > 0
    weights = load_weights(db)
    rows = targets(db)
    assert len(rows) == result["matched"]
    for t in rows:
        reasons = dict(part.split(":", 1) for part in t["reasons"].split("; "))
        signal_of = {
            "title": "title",
            "industry": "industry",
            "employees": "size",
            "engagements": "engagements",
            "last engagement": "recency",
        }
        explained = sum(weights[signal_of[name]] for name in reasons) - weights["priority"] * t["priority"]
        assert t["score"] == explained, t
        assert t["score"] >= weights["threshold"]
        # the title term is in the title as whole words
        words = " " + re.sub(r'[.,!?;:()"/\\]', " ", (t["title"] or "").lower()) + " "
        assert f" {reasons['title']} " in words, t
        assert Decimal("0") < t["confidence"] <= Decimal("1")


def test_matching_is_reproducible_and_only_people_without_a_target_are_scored(db: Database, tmp_path: Path) -> None:
    first = job.match_in(db, as_of=AS_OF)
    made = targets(db)
    again = job.match_in(db, as_of=AS_OF)
    assert again["people_considered"] == first["unmatched"] and again["matched"] == 0
    assert targets(db) == made

    db.execute("DELETE FROM registry.targets")
    job.match_in(db, as_of=AS_OF)
    assert targets(db) == made  # same data, rules and as_of: the same targets, scores and reasons


def test_a_new_person_is_matched_on_the_next_run(db: Database) -> None:
    db.execute("UPDATE registry.match_weights SET weight = 90 WHERE signal = 'threshold'")  # a title alone is enough
    first = job.match_in(db, as_of=AS_OF)
    rule = db.query_dicts(
        "SELECT rule_id, title_terms FROM registry.persona_match_rules WHERE is_active = 1 ORDER BY rule_id"
    )[0]
    term = rule["title_terms"].split("|")[0]
    db.execute(
        "INSERT INTO registry.persons (person_id, full_name, title, company_id, created_at) VALUES (?, ?, ?, NULL, ?)",
        (900001, "New Person", f"Senior {term.title()}, APAC", AS_OF),
    )
    result = job.match_in(db, as_of=AS_OF)
    assert result["people_considered"] == first["unmatched"] + 1 and result["matched"] == 1
    row = db.query_one("SELECT reasons FROM registry.targets WHERE person_id = 900001")
    assert row is not None and row[0].startswith("title:")


def _only_rule(db: Database, terms: str) -> None:
    db.execute("UPDATE registry.persona_match_rules SET is_active = 0")
    db.execute(
        "INSERT INTO registry.persona_match_rules (rule_id, persona_unique_id, title_terms, priority, is_active) "
        "VALUES (777, 'dh-000001', ?, 0, 1)",
        (terms,),
    )


def test_title_terms_match_whole_words_only(db: Database) -> None:
    _only_rule(db, "brand manager|cfo")
    titles = {
        910001: "Brand Manager, EMEA",
        910002: "Brand Management Intern",
        910003: "Senior brand manager (oncology)",
        910004: "CFO",
        910005: "Ex-CFO Advisor",
        910006: "Brand Managers Guild",
    }
    db.execute("DELETE FROM registry.engagements")
    db.execute("DELETE FROM registry.persons")
    for person_id, title in titles.items():
        db.execute(
            "INSERT INTO registry.persons (person_id, full_name, title, created_at) VALUES (?, ?, ?, ?)",
            (person_id, "x", title, AS_OF),
        )
    job.match_in(db, as_of=AS_OF)
    matched = {r[0]: r[1] for r in db.query("SELECT person_id, reasons FROM registry.targets")}
    assert matched == {910001: "title:brand manager", 910003: "title:brand manager", 910004: "title:cfo"}


def test_confidence_is_the_winners_share_of_the_rules_that_passed(db: Database) -> None:
    db.execute("UPDATE registry.persona_match_rules SET is_active = 0")
    for rule_id, uid, priority in ((801, "dh-000001", 1), (802, "dh-000002", 2)):
        db.execute(
            "INSERT INTO registry.persona_match_rules (rule_id, persona_unique_id, title_terms, priority, is_active) "
            "VALUES (?, ?, 'data scientist', ?, 1)",
            (rule_id, uid, priority),
        )
    db.execute("UPDATE registry.match_weights SET weight = 90 WHERE signal = 'threshold'")
    job.match_in(db, as_of=AS_OF)
    rows = db.query("SELECT rule_id, score, confidence FROM registry.targets")
    assert rows
    for rule_id, score, confidence in rows:
        assert rule_id == 801 and score == 98  # 100 - 2 * priority 1 beats 100 - 2 * 2
        assert confidence == Decimal(str(round(98 / (98 + 96), 4)))


def test_the_match_statement_is_one_statement_with_the_rules_as_data(db: Database) -> None:
    rules = load_rules(db)
    sql = compile_match(rules, load_weights(db), "0" * 64)
    assert sql.count("INSERT INTO registry.targets") == 1
    assert all(f"N'{r.persona_unique_id}'" in sql for r in rules)


def test_a_rule_with_a_wildcard_in_a_term_is_refused_before_anything_is_written(db: Database) -> None:
    _only_rule(db, "brand%manager")
    with pytest.raises(InvalidInput, match="brand%manager"):
        job.match_in(db, as_of=AS_OF)
    assert db.query_one("SELECT COUNT(*) FROM registry.targets")[0] == 0


def test_rules_naming_no_registry_persona_are_reported_and_skipped(db: Database) -> None:
    db.execute(
        "INSERT INTO registry.persona_match_rules (rule_id, persona_unique_id, title_terms, priority, is_active) "
        "VALUES (990, 'nobody', 'cfo', 1, 1)"
    )
    result = job.match_in(db, as_of=AS_OF)
    assert result["rules_skipped"] == [{"rule_id": 990, "persona_unique_id": "nobody"}]


def test_as_of_is_an_iso_utc_time() -> None:
    assert job.parse_as_of("2025-06-30") == datetime(2025, 6, 30)
    with pytest.raises(InvalidInput):
        job.parse_as_of("yesterday")
    with pytest.raises(InvalidInput, match="UTC"):
        job.parse_as_of("2025-06-30T00:00:00+02:00")


# -- strategies and performance ----------------------------------------------------------------------------


def test_strategies_are_recommended_per_persona_by_relevance(db: Database) -> None:
    result = job.recommend_in(db, top=2)
    assert result["personas"]
    for persona in result["personas"]:
        relevance = [s["relevance"] for s in persona["strategies"]]
        assert relevance == sorted(relevance, reverse=True) and len(relevance) <= 2
        assert [s["rank"] for s in persona["strategies"]] == list(range(1, len(relevance) + 1))
    one = job.recommend_in(db, persona="DH-000001 ", top=4)  # as Azure SQL compares keys
    assert [p["persona"] for p in one["personas"]] == ["dh-000001"] and len(one["personas"][0]["strategies"]) == 4
    with pytest.raises(NotFound):
        job.recommend_in(db, persona="nobody")
    with pytest.raises(InvalidInput):
        job.recommend_in(db, top=0)


def test_campaign_performance_by_persona_counts_targets_and_engagements(db: Database) -> None:
    job.match_in(db, as_of=AS_OF)
    rows = {r["unique_id"]: r for r in job.performance_in(db)["personas"]}
    expected = dict(
        db.query(
            "SELECT p.unique_id, COUNT(*) FROM registry.targets t JOIN registry.personas p ON p.persona_id = t.persona_id "
            "GROUP BY p.unique_id"
        )
    )
    assert {k: v["targets"] for k, v in rows.items() if v["targets"]} == expected
    for r in rows.values():
        assert r["engaged_people"] <= r["targets"] and 0 <= r["engagement_rate"] <= 1


def test_connectors_keep_key_vault_secret_names_never_values(db: Database) -> None:
    columns = {
        r[0] for r in db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'connectors'")
    }
    assert "secret_name" in columns
    assert not columns & {"api_key", "cookie", "password", "secret_value", "token"}
    for (name,) in db.query("SELECT secret_name FROM registry.connectors"):
        assert re.fullmatch(r"[0-9A-Za-z-]{1,127}", name)  # a Key Vault secret name
