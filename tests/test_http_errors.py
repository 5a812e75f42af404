"""Whose fault an HTTP error is decides its status: the caller's (400, 404, 409), the server's
configuration (500 naming the setting), or a database that is briefly unavailable (503, Retry-After).
Each is answered by the real handler wrapper, most through the app's real functions."""

import socket
import subprocess
import sys

import azure.functions as func
import pytest

from scout.db.base import LockTimeout, TransactionConflict
from scout.errors import InvalidInput, NotFound
from scout.functions.http import RETRY_AFTER_SECONDS, http_handler
from scout.storage import StorageUnavailable
from tests.conftest import call_http


def test_no_queue_storage_is_a_server_misconfiguration_naming_the_settings(settings, functions):
    status, body, response = call_http(functions, "montecarlo_start", "POST", body="{}")

    assert status == 500 and response.mimetype == "application/json"
    assert body["error"] == "configuration_error" and body["message"].startswith("server misconfiguration: ")
    assert body["settings"] == ["AzureWebJobsStorage", "AzureWebJobsStorage__queueServiceUri"]


def test_a_malformed_database_url_is_a_500_naming_it_not_a_400(monkeypatch, functions):
    monkeypatch.setenv("SCOUT_DATABASE_URL", "postgres://db.example/scout")

    status, body, _ = call_http(functions, "montecarlo_status", route_params={"run_id": "any"})

    assert status == 500 and body["error"] == "configuration_error" and body["settings"] == ["SCOUT_DATABASE_URL"]
    assert "expected duckdb:///<path> or mssql://" in body["message"]


def test_an_unresolved_key_vault_reference_is_a_500_naming_the_setting(monkeypatch, db_url, functions):
    monkeypatch.setenv("SCOUT_SQL_USER", "@Microsoft.KeyVault(SecretUri=https://vault.example/secrets/user)")

    status, body, _ = call_http(functions, "montecarlo_status", route_params={"run_id": "any"})

    assert status == 500 and body["settings"] == ["SCOUT_SQL_USER"]
    assert "unresolved Key Vault reference" in body["message"]


@pytest.fixture
def unreachable_azure_sql(monkeypatch):
    """Azure SQL settings pointing at a port nobody listens on: the real pyodbc + FreeTDS refuse, twice."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in {
        "SCOUT_DATABASE_URL": f"mssql://127.0.0.1:{port}/scout",
        "SCOUT_ODBC_DRIVER": "FreeTDS",
        "SCOUT_SQL_AUTH": "sql",
        "SCOUT_SQL_USER": "scout_app",
        "SCOUT_SECRET_SQL_PASSWORD": "not-a-real-password",
        "SCOUT_RETRY_ATTEMPTS": "2",
        "SCOUT_RETRY_FIRST_WAIT_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(name, value)


def test_a_database_that_stays_unreachable_is_a_503_with_retry_after(unreachable_azure_sql, functions):
    status, body, response = call_http(functions, "montecarlo_status", route_params={"run_id": "any"})

    assert status == 503 and body["error"] == "database_unavailable"
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "not-a-real-password" not in body["message"]


def raising(exc: Exception):
    """An HTTP function, wrapped as every app function is, that fails with ``exc``."""

    @http_handler
    def function(req: func.HttpRequest) -> func.HttpResponse:
        raise exc

    return function(func.HttpRequest("GET", "http://localhost/api/x", body=b""))


@pytest.mark.parametrize(
    "exc, status, kind",
    [
        (InvalidInput("horizon_days must be at least 1"), 400, "invalid_input"),
        (NotFound("no run abc"), 404, "not_found"),
        (LockTimeout("another run holds the migrations lock"), 409, "locked"),
        (TransactionConflict("write-write conflict"), 503, "database_unavailable"),
        (StorageUnavailable("storage unavailable while creating queue scout-jobs"), 503, "storage_unavailable"),
    ],
)
def test_the_callers_faults_keep_their_statuses(exc, status, kind):
    response = raising(exc)
    assert response.status_code == status and response.mimetype == "application/json"
    assert kind in response.get_body().decode()
    assert ("Retry-After" in response.headers) == (status == 503)


def test_a_job_that_failed_on_a_transient_database_error_is_a_503_with_its_run_id():
    from scout.db.mssql_backend import TransientDatabaseError
    from scout.jobs.runs import JobFailed

    try:
        raise JobFailed("Azure SQL unavailable", "run-1") from TransientDatabaseError("40613 after 5 attempts")
    except JobFailed as failed:
        response = raising(failed)
    assert response.status_code == 503 and response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert '"run_id": "run-1"' in response.get_body().decode()


def test_an_unexpected_error_is_a_generic_500_and_pyodbc_is_never_imported_for_it():
    probe = (
        "import sys, azure.functions as func\n"
        "from scout.functions.http import http_handler\n"
        "f = http_handler(lambda req: 1 / 0)\n"
        "r = f(func.HttpRequest('GET', 'http://localhost/api/x', body=b''))\n"
        "print(r.status_code, r.get_body().decode(), 'pyodbc' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    status, _, rest = done.stdout.strip().partition(" ")
    assert status == "500" and "internal error" in rest and rest.endswith("False")


def test_a_job_that_found_its_input_wrong_only_as_it_ran_is_a_400_with_its_run_id():
    from scout.jobs.runs import JobFailed

    try:
        raise JobFailed("the source tables already hold 50 transactions", "run-2") from InvalidInput("already hold")
    except JobFailed as failed:
        response = raising(failed)
    assert response.status_code == 400 and "Retry-After" not in response.headers
    assert '"error": "invalid_input"' in response.get_body().decode()
    assert '"run_id": "run-2"' in response.get_body().decode()


@pytest.mark.parametrize(
    "body, message",
    [
        ("[" * 100_000, "nested deeper than"),
        ('{"a":' * 100_000, "nested deeper than"),
        ('{"target": NaN}', "numbers must be finite"),
        ('{"target": -Infinity}', "numbers must be finite"),
        ('{"target": 1e400}', "beyond the range of a number"),
        ('{"target": "1", "target": "2"}', "field target is given twice"),
        ('{"target": "\\ud800"}', "not valid Unicode"),
        ('{"target": "' + " " * 1_000_001 + '"}', "larger than 1,000,000 bytes"),
        ('{"dry_run": true, "x": ' + "[" * 21 + "]" * 21 + "}", "nested deeper than 20 levels"),
    ],
)
def test_a_body_python_json_would_choke_on_or_wave_through_is_a_400(settings, functions, body, message):
    status, payload, _ = call_http(functions, "migrations_apply", "POST", body=body)
    assert (status, payload["error"]) == (400, "invalid_input") and message in payload["message"]


def test_nesting_up_to_the_limit_is_read(settings):
    from scout.functions.http import MAX_JSON_DEPTH, json_object

    nested = '{"x": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"  # the object + 19 arrays
    expected: list = []
    for _ in range(MAX_JSON_DEPTH - 2):
        expected = [expected]
    assert json_object(func.HttpRequest("POST", "http://localhost/api/x", body=nested.encode())) == {"x": expected}
