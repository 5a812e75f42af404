"""The migration job end to end on the embedded default, as a data engineer runs it."""

from scout.db import connect
from scout.migrations import job


def test_apply_creates_the_ledger_and_every_object_then_nothing_is_pending(settings):
    result = job.apply(trigger="cli", settings=settings)

    assert [m["script"] for m in result["applied"]][:2] == ["V001__source_objects.sql", "V002__reference_schema.sql"]
    status = job.status(settings)
    assert status["pending"] == []
    with connect(settings) as db:
        assert db.query_one("SELECT COUNT(*) FROM ref.persona_rules")[0] == 12
        runs = db.query("SELECT job, trigger_type, status FROM ops.job_runs")
    assert runs == [("migrations.apply", "cli", "succeeded")]


def test_second_apply_changes_nothing(migrated):
    again = job.apply(trigger="cli", settings=migrated)
    assert again["applied"] == []
