"""The nightly refresh of standing scenarios, through the real timer function and a real (Azurite)
queue: each scenario starts or fails on its own, and the refresh says which failed and why."""

import json
import logging
import types

import pytest

from scout.config import Settings
from scout.db import connect
from scout.jobs.runs import JobFailed, recent_runs
from scout.montecarlo import BATCH_QUEUE


@pytest.fixture
def standing(migrated, azurite, monkeypatch):
    from scout.demo import job as demo
    from scout.storage import queue_client

    demo.seed(trigger="cli", transactions=1500, seed=5, settings=migrated)
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    settings = Settings.from_env()
    queue_client(settings, BATCH_QUEUE).clear_messages()
    return settings


def save_scenarios(settings, rows):
    with connect(settings) as db, db.transaction():
        db.executemany("INSERT INTO results.scenarios (name, definition, is_active) VALUES (?, ?, 1)", rows)


def run_timer(functions):
    timer = functions["montecarlo_standing"].get_user_function()
    timer(types.SimpleNamespace(past_due=False), types.SimpleNamespace(invocation_id="nightly-test"))


def queued_runs(settings):
    from scout.storage import queue_client

    client = queue_client(settings, BATCH_QUEUE)
    messages = list(client.receive_messages(max_messages=32, visibility_timeout=30))
    return sorted(json.loads(m.content)["run_id"] for m in messages)


def started_runs(settings):
    """Scenario name -> run id of every run started."""
    with connect(settings) as db:
        return {
            json.loads(scenario)["name"]: run_id
            for run_id, scenario in db.query("SELECT run_id, scenario FROM results.montecarlo_runs")
        }


def test_bad_rows_fail_alone_and_the_good_ones_still_run(standing, functions, caplog):
    save_scenarios(
        standing,
        [
            ("broken json", '{"segment": {"region": '),
            ("no such region", json.dumps({"segment": {"region": "Atlantis"}})),
            ("too many iterations", json.dumps({"iterations": 5_000_000})),
            (
                "ncr week",
                json.dumps({"segment": {"region": "NCR"}, "horizon_days": 7, "iterations": 500, "batches": 1}),
            ),
            ("everything", json.dumps({"iterations": 20_000, "batches": 2})),
        ],
    )
    caplog.set_level(logging.WARNING, logger="scout.montecarlo.standing")

    with pytest.raises(JobFailed, match="3 of 5 standing scenarios not started \\(2 started\\)") as failure:
        run_timer(functions)

    runs = started_runs(standing)
    assert sorted(runs) == ["everything", "ncr week"]
    assert queued_runs(standing) == sorted([runs["ncr week"], runs["everything"], runs["everything"]])
    failed = {f["name"]: f["reason"] for f in failure.value.summary["failed"]}
    assert failed.keys() == {"broken json", "no such region", "too many iterations"}
    assert failed["broken json"].startswith("definition is not valid JSON")
    assert failed["no such region"].startswith("unknown region 'Atlantis'")
    assert failed["too many iterations"].startswith("iterations must be between")
    for name, reason in failed.items():
        assert f"standing scenario {name!r} not started: {reason}" in caplog.text

    with connect(standing) as db:
        [record] = recent_runs(db, "montecarlo.standing")
    assert record["status"] == "failed" and record["trigger_type"] == "timer"
    assert record["summary"]["total"] == 5 and record["summary"]["submitted"] == 2
    assert "too many iterations: iterations must be between" in record["error"]


def test_a_broken_setting_does_not_stop_the_saved_scenarios(standing, functions, monkeypatch):
    monkeypatch.setenv("SCOUT_MONTECARLO_STANDING_SCENARIOS", '[{"name": "from the setting", "iterations": 500}')
    save_scenarios(standing, [("saved", json.dumps({"iterations": 500, "batches": 1}))])

    with pytest.raises(JobFailed, match="SCOUT_MONTECARLO_STANDING_SCENARIOS must be a JSON list"):
        run_timer(functions)

    assert list(started_runs(standing)) == ["saved"]


def test_with_nothing_saved_every_region_is_refreshed_and_the_job_succeeds(standing, functions):
    with connect(standing) as db:
        regions = [r[0] for r in db.query("SELECT DISTINCT region FROM dbo.Stores")]

    run_timer(functions)

    assert sorted(started_runs(standing)) == sorted(f"region {r}" for r in regions)
    with connect(standing) as db:
        [record] = recent_runs(db, "montecarlo.standing")
    assert record["status"] == "succeeded" and record["summary"]["failed"] == []
    assert record["summary"]["submitted"] == record["summary"]["total"] == len(regions)
