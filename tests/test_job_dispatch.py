"""Long work over HTTP: a queued run on the real (Azurite) queue, picked up by the worker exactly once."""

import json

import pytest

from scout.config import Settings
from scout.db import connect
from scout.errors import InvalidInput
from scout.jobs import dispatch
from scout.jobs.runs import get_run
from tests.conftest import call_http


@pytest.fixture
def storage_settings(migrated, azurite, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    return Settings.from_env()


def _receive_one(settings):
    from scout.storage import queue_client

    queue = queue_client(settings, dispatch.JOBS_QUEUE)
    messages = list(queue.receive_messages(max_messages=32, visibility_timeout=5))
    for m in messages:
        queue.delete_message(m)
    return [m.content for m in messages]


def test_submitted_job_is_queued_then_run_by_the_worker_once(storage_settings):
    submitted = dispatch.submit(
        "migrations.apply",
        {"dry_run": True},
        settings=storage_settings,
        status_url=lambda run_id: f"http://host/api/jobs/{run_id}",
    )

    assert submitted["status"] == "queued"
    assert submitted["status_url"].endswith(submitted["run_id"])
    with connect(storage_settings) as db:
        assert get_run(db, submitted["run_id"])["status"] == "queued"

    [body] = _receive_one(storage_settings)
    assert json.loads(body)["run_id"] == submitted["run_id"]
    result = dispatch.run_message(body, settings=storage_settings)
    assert result["run_id"] == submitted["run_id"] and result["dry_run"] is True
    with connect(storage_settings) as db:
        run = get_run(db, submitted["run_id"])
    assert run["status"] == "succeeded" and run["trigger_type"] == "http"

    # the queue delivers the same message again: nothing runs twice
    assert dispatch.run_message(body, settings=storage_settings) is None


def test_unknown_job_is_refused_before_anything_is_recorded(storage_settings):
    with pytest.raises(InvalidInput):
        dispatch.submit("no.such.job", {}, settings=storage_settings)
    with connect(storage_settings) as db:
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE status = 'queued'")[0] == 0


def test_status_endpoint_answers_404_json_for_an_unknown_run(migrated, functions):
    status, body, _ = call_http(functions, "job_status", route_params={"run_id": "nope"})
    assert status == 404 and body["error"] == "not_found"


def test_status_endpoint_shows_a_finished_run(migrated, functions):
    from scout.migrations import job

    run_id = job.apply(trigger="cli", settings=migrated)["run_id"]
    status, body, _ = call_http(functions, "job_status", route_params={"run_id": run_id})
    assert status == 200 and body["status"] == "succeeded" and body["job"] == "migrations.apply"
