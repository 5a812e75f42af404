"""Inference and export on demand over HTTP: 202 with a status URL, the queue worker does the work."""

import pytest

from scout.config import Settings
from scout.jobs import dispatch
from tests.conftest import call_http


@pytest.fixture
def queued(migrated, azurite, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=300, seed=3)
    return Settings.from_env()


def drain(settings):
    """Play the queue worker: run every queued job message once; a failed run is returned as its
    JobFailed, and its message consumed, as the worker does (scout/functions/jobs.py)."""
    from scout.jobs.runs import JobFailed
    from scout.storage import queue_client

    queue = queue_client(settings, dispatch.JOBS_QUEUE)
    results = []
    for message in queue.receive_messages(max_messages=32, visibility_timeout=30):
        try:
            results.append(dispatch.run_message(message.content, settings=settings))
        except JobFailed as failed:
            results.append(failed)
        queue.delete_message(message)
    return results


def test_infer_then_export_over_http_and_read_the_latest_manifest(queued, functions):
    status, body, response = call_http(
        functions, "personas_infer", "POST", "http://host/api/personas/infer", body='{"full": true}'
    )
    assert status == 202 and body["status"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"http://host/api/jobs/{body['run_id']}"
    assert drain(queued)[0]["scored"] == 300

    status, body, _ = call_http(
        functions,
        "exports_flat",
        "POST",
        "http://host/api/exports/flat",
        body='{"format": "csv,parquet", "full": true}',
    )
    assert status == 202
    [done] = drain(queued)
    assert done["acceptance"][-1] == "PASSED" and done["baskets_summarized"] == 300

    status, run, _ = call_http(functions, "job_status", route_params={"run_id": body["run_id"]})
    assert status == 200 and run["status"] == "succeeded" and run["summary"]["export_rows"] == 300

    status, manifest, _ = call_http(functions, "exports_flat_latest")
    assert status == 200 and manifest["run_id"] == body["run_id"] and manifest["counts"]["export_rows"] == 300


def test_latest_is_404_json_before_any_export(migrated, functions):
    status, body, _ = call_http(functions, "exports_flat_latest")
    assert status == 404 and body["error"] == "not_found"


@pytest.mark.parametrize(
    "name, body, message",
    [
        ("exports_flat", '{"limit": -3}', "limit must be a positive"),
        ("exports_flat", '{"format": "pdf"}', "format must be"),
        ("exports_flat", '{"limit": 10, "where": "1=1"}', "unknown field(s): where"),
        ("personas_infer", '{"full": "yes"}', "field full must be bool"),
        ("exports_flat", '{"full": 1}', "field full must be bool"),
        (
            "exports_flat",
            '{"limit": 1000000000000000000000000000000}',
            "limit must be a positive whole number, at most",
        ),
        ("exports_flat", '{"limit": 0}', "limit must be a positive"),
        ("exports_flat", '{"format": ["csv", "xlsx"]}', "format must be"),
        ("exports_flat", '{"allow_shrink": "yes"}', "field allow_shrink must be bool"),
    ],
)
def test_bad_requests_are_400_json_and_nothing_is_queued(queued, functions, name, body, message):
    status, payload, _ = call_http(functions, name, "POST", body=body)
    assert status == 400 and message in payload["message"]
    assert drain(queued) == []
    from scout.db import connect

    with connect(queued) as db:  # nor recorded
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE trigger_type = 'http'")[0] == 0


def test_a_shrinking_export_over_http_fails_its_run_unless_allow_shrink(queued, functions):
    from scout.demo import job as demo

    call_http(functions, "exports_flat", "POST", "http://host/api/exports/flat", body="{}")
    drain(queued)
    demo.seed(trigger="cli", transactions=100, seed=3, replace=True)  # a reload that lost two thirds

    _, refused, _ = call_http(functions, "exports_flat", "POST", "http://host/api/exports/flat", body="{}")
    [failed] = drain(queued)
    assert "100 rows is fewer than half of the 300 expected" in str(failed)
    status, run, _ = call_http(functions, "job_status", route_params={"run_id": refused["run_id"]})
    assert run["status"] == "failed" and "allow_shrink" in run["error"]
    assert call_http(functions, "exports_flat_latest")[1]["counts"]["export_rows"] == 300

    _, allowed, _ = call_http(
        functions, "exports_flat", "POST", "http://host/api/exports/flat", body='{"allow_shrink": true}'
    )
    [done] = drain(queued)
    status, manifest, _ = call_http(functions, "exports_flat_latest")
    assert manifest["run_id"] == allowed["run_id"] == done["run_id"]
    assert (manifest["counts"]["export_rows"], manifest["previous_export_rows"], manifest["allow_shrink"]) == (
        100,
        300,
        True,
    )
