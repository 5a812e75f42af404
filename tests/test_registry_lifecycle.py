"""Cutover (V098) and deprecation (V099) of the legacy persona tables: migrations gated on a passing compare.

The gate is registry.lifecycle's CHECK constraint: the step's row names the latest compare if it passed,
and on legacy tables with rows the row cannot exist without one (deprecation: also 30 days after cutover).
"""

from __future__ import annotations

import pytest

from scout.config import Settings
from scout.db import connect
from scout.demo.persona_sources import LEGACY_TABLES, seed_personas
from scout.jobs.runs import JobFailed
from scout.migrations import job as migrations
from scout.registry import job


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as db:
        return {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for t in LEGACY_TABLES}


def lifecycle(settings: Settings) -> dict[str, tuple]:
    with connect(settings) as db:
        return {r[0]: r[1:] for r in db.query("SELECT step, compare_id, legacy_rows FROM registry.lifecycle")}


def pending(settings: Settings) -> list[str]:
    return [str(p.get("script")) for p in migrations.status(settings)["pending"]]


@pytest.fixture
def dual_write(settings: Settings) -> Settings:
    """Migrated up to before cutover, the legacy tables filled, consolidated: the dual-write period."""
    migrations.apply(trigger="cli", target="43", settings=settings)
    with connect(settings) as db:
        seed_personas(db)
        job.consolidate_in(db)
    return settings


def test_cutover_is_refused_without_a_passing_compare(dual_write: Settings) -> None:
    legacy = snapshot(dual_write)
    with pytest.raises(JobFailed, match="(?i)lifecycle|check"):
        migrations.apply(trigger="cli", settings=dual_write)
    assert "V098__persona_cutover.sql" in pending(dual_write)
    assert lifecycle(dual_write) == {}
    assert snapshot(dual_write) == legacy


def test_cutover_applies_after_a_passing_compare_and_ends_the_dual_write(dual_write: Settings) -> None:
    with connect(dual_write) as db:
        passed = job.compare_in(db)
    assert passed["passed"]
    with pytest.raises(JobFailed):  # V098 applies, V099 waits for 30 days after cutover
        migrations.apply(trigger="cli", settings=dual_write)
    steps = lifecycle(dual_write)
    assert steps["cutover"][0] == passed["compare_id"] and steps["cutover"][1] > 0
    assert "deprecation" not in steps

    with connect(dual_write) as db:  # a legacy write after cutover is reported, no longer carried
        db.execute("UPDATE legacy.dh_personas SET title = N'late write' WHERE id = 3")
        result = job.sync_in(db)
    assert result["phase"] == "cut over" and result["carried"] == 0
    assert result["drift_before"]["legacy.dh_personas"] == 1 and not result["passed"]


def test_a_failed_latest_compare_closes_the_gate_again(dual_write: Settings) -> None:
    with connect(dual_write) as db:
        assert job.compare_in(db)["passed"]
        db.execute(
            "UPDATE legacy.org_personas SET name = N'changed' WHERE id = (SELECT MIN(id) FROM legacy.org_personas)"
        )
        assert not job.compare_in(db)["passed"]
    with pytest.raises(JobFailed):
        migrations.apply(trigger="cli", settings=dual_write)
    assert lifecycle(dual_write) == {}


def test_deprecation_needs_30_days_after_cutover_and_undo_returns_to_dual_write(dual_write: Settings) -> None:
    legacy = snapshot(dual_write)
    with connect(dual_write) as db:
        job.compare_in(db)
    migrations.apply(trigger="cli", target="98", settings=dual_write)
    with connect(dual_write) as db:  # 31 days later
        db.execute("UPDATE registry.lifecycle SET decided_at = DATEADD(day, -31, decided_at) WHERE step = N'cutover'")
    migrations.apply(trigger="cli", settings=dual_write)
    assert set(lifecycle(dual_write)) == {"cutover", "deprecation"}
    with connect(dual_write) as db:
        assert job.sync_in(db)["phase"] == "deprecated"

    migrations.undo(trigger="cli", target="60", settings=dual_write)
    assert lifecycle(dual_write) == {}
    assert snapshot(dual_write) == legacy  # legacy is, and stayed, the only truth
    with connect(dual_write) as db:
        assert job.sync_in(db)["phase"] == "dual-write"


def test_on_empty_legacy_tables_cutover_and_deprecation_are_vacuous(migrated: Settings) -> None:
    """A new installation has nothing to migrate: both steps apply, and legacy rows seeded later still sync."""
    assert {step: rows for step, (_, rows) in lifecycle(migrated).items()} == {"cutover": 0, "deprecation": 0}
    with connect(migrated) as db:
        seed_personas(db)
        result = job.sync_in(db)
    assert result["phase"] == "dual-write" and result["passed"] and result["carried"] > 0
