"""The migrations endpoints as an operator calls them: JSON in, JSON out, clear statuses."""

import pytest

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations.files import discover
from tests.conftest import call_http

MIGRATION_COUNT = len(discover().versioned) + len(discover().repeatable)


def test_health_tells_version_reachability_and_pending_count(settings, functions):
    from scout.migrations import job

    job.apply(trigger="cli", target="1", settings=settings)  # a database that exists, with migrations pending
    status, body, _ = call_http(functions, "health")
    assert status == 200
    assert body["database"] == {"reachable": True} and body["pending_migrations"] > 0 and body["version"]


def test_health_is_503_json_when_the_database_cannot_be_opened(monkeypatch, tmp_path, functions):
    (tmp_path / "not-a-db").write_text("garbage")
    monkeypatch.setenv("SCOUT_DATABASE_URL", f"duckdb:///{tmp_path / 'not-a-db'}")
    status, body, _ = call_http(functions, "health")
    assert status == 503 and body["database"]["reachable"] is False


def test_status_lists_applied_and_pending(migrated, functions):
    status, body, _ = call_http(functions, "migrations_status")
    assert status == 200 and body["pending"] == []
    assert {"version", "description", "type", "checksum"} <= set(body["applied"][0])


def test_apply_with_dry_run_changes_nothing_and_shows_sql(settings, functions):
    status, body, _ = call_http(functions, "migrations_apply", "POST", body='{"dry_run": true, "target": "2"}')
    assert status == 200 and body["dry_run"] is True
    assert [m["version"] for m in body["would_apply"]] == ["1", "2"]
    assert call_http(functions, "health")[1]["pending_migrations"] == MIGRATION_COUNT


def test_apply_with_an_empty_body_applies_everything(settings, functions):
    status, body, _ = call_http(functions, "migrations_apply", "POST")
    assert status == 200 and body["pending"] == 0 and body["applied_count"] == MIGRATION_COUNT and body["run_id"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"dry_run": true, "force": 1}', "unknown field(s): force"),
        ('{"dry_run": "yes"}', "field dry_run must be bool"),
        ('{"target": true}', "field target has the wrong type"),
        ('{"target": "latest"}', "target must be a version"),
    ],
)
def test_bad_input_is_a_400_json_error_with_a_message(settings, functions, body, message):
    status, payload, response = call_http(functions, "migrations_apply", "POST", body=body)
    assert status == 400 and response.mimetype == "application/json"
    assert payload["error"] == "invalid_input" and message in payload["message"]


def test_a_held_lock_answers_409(settings, functions, monkeypatch):
    monkeypatch.setenv("SCOUT_LOCK_TIMEOUT_SECONDS", "0.2")
    holder = DuckDBDatabase(settings.database_url.removeprefix("duckdb:///"))
    try:
        with holder.application_lock("scout-migrations", 1):
            status, body, _ = call_http(functions, "migrations_apply", "POST")
    finally:
        holder.close()
    assert status == 409 and body["error"] == "locked" and "another run holds" in body["message"]
