"""The Azure SQL path with the real pyodbc + unixODBC + FreeTDS stack, against a port nobody listens on.

The errors are real ODBC errors with real SQLSTATEs; the backend must classify them as transient,
retry with back-off, and report attempts and the last cause — never a password or token.
"""

import logging
import socket
import subprocess
import sys

import pyodbc
import pytest

from scout.config import Settings
from scout.db import DatabaseError, parse_database_url
from scout.db.mssql_backend import MssqlDatabase, TransientDatabaseError, pack_access_token
from scout.db.retry import RetryPolicy, is_transient

LEAK_MARKER = "marker-that-must-never-leak-9931"  # stands in for the SQL login's secret


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def freetds_settings(closed_port, monkeypatch) -> Settings:
    monkeypatch.setenv("SCOUT_DATABASE_URL", f"mssql://127.0.0.1:{closed_port}/scout")
    monkeypatch.setenv("SCOUT_ODBC_DRIVER", "FreeTDS")
    monkeypatch.setenv("SCOUT_SQL_AUTH", "sql")
    monkeypatch.setenv("SCOUT_SQL_USER", "scout_app")
    monkeypatch.setenv("SCOUT_SECRET_SQL_PASSWORD", LEAK_MARKER)  # no KEY_VAULT_URL: local stand-in
    monkeypatch.setenv("SCOUT_RETRY_ATTEMPTS", "3")
    monkeypatch.setenv("SCOUT_RETRY_FIRST_WAIT_SECONDS", "0.5")
    return Settings.from_env()


def test_connection_refused_is_retried_with_backoff_then_reported_without_secrets(freetds_settings, caplog):
    caplog.set_level(logging.DEBUG)
    waits = []
    _, server, database = parse_database_url(freetds_settings.database_url)

    with pytest.raises(TransientDatabaseError) as failure:
        MssqlDatabase(server, database, freetds_settings, sleep=waits.append)

    message = str(failure.value)
    assert "connect" in message and "3 time(s)" in message and "[08S01]" in message
    assert len(waits) == 2 and 0.5 <= waits[0] <= 0.625 and 1.0 <= waits[1] <= 1.25
    assert LEAK_MARKER not in message and LEAK_MARKER not in caplog.text
    assert "PWD" not in message


def test_real_odbc_errors_are_classified_by_sqlstate_and_error_number(closed_port):
    with pytest.raises(pyodbc.Error) as real:
        pyodbc.connect(f"Driver={{FreeTDS}};Server=127.0.0.1;Port={closed_port};Database=x", timeout=2)
    assert is_transient(real.value)

    assert is_transient(
        pyodbc.OperationalError(
            "HYT00", "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired (0) (SQLDriverConnect)"
        )
    )
    assert is_transient(
        pyodbc.Error(
            "42000", "[42000] Database 'scout' on server 'x' is not currently available. (40613) (SQLExecDirectW)"
        )
    )
    assert is_transient(
        pyodbc.Error("40001", "[40001] Transaction (Process ID 52) was deadlocked (1205) (SQLExecDirectW)")
    )
    assert not is_transient(
        pyodbc.ProgrammingError("42S02", "[42S02] Invalid object name 'dbo.nope'. (208) (SQLExecDirectW)")
    )
    assert not is_transient(
        pyodbc.IntegrityError("23000", "[23000] Violation of PRIMARY KEY constraint (2627) (SQLExecDirectW)")
    )


def test_a_permanent_error_fails_at_once(freetds_settings):
    calls = []

    def connect(conn_str, **kwargs):
        calls.append(conn_str)
        raise pyodbc.InterfaceError("28000", "[28000] Login failed for user 'scout_app'. (18456) (SQLDriverConnect)")

    with pytest.raises(DatabaseError) as failure:
        MssqlDatabase("127.0.0.1", "scout", freetds_settings, connect_fn=connect, sleep=lambda s: None)
    assert len(calls) == 1 and "Login failed" in str(failure.value)
    assert not isinstance(failure.value, TransientDatabaseError)


def test_entra_token_is_passed_as_the_odbc_access_token_attribute(monkeypatch):
    from tests.fakes.azure_wire import FakeEntraCredential

    credential = FakeEntraCredential("tok")
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **kw: credential)
    seen = {}

    def connect(conn_str, attrs_before=None, autocommit=True):
        seen.update(conn_str=conn_str, attrs=attrs_before)
        raise pyodbc.OperationalError("HYT00", "[HYT00] Login timeout expired (0) (SQLDriverConnect)")

    settings = Settings.from_env({"SCOUT_RETRY_ATTEMPTS": "1"})
    with pytest.raises(TransientDatabaseError):
        MssqlDatabase("srv.database.windows.net", "scout", settings, connect_fn=connect)

    assert seen["attrs"] == {1256: pack_access_token("tok")}
    assert credential.scopes == [("https://database.windows.net/.default",)]
    assert "Encrypt=yes" in seen["conn_str"] and "ODBC Driver 18 for SQL Server" in seen["conn_str"]
    assert "PWD" not in seen["conn_str"] and "UID" not in seen["conn_str"]


def test_token_packing_is_length_prefixed_utf16():
    packed = pack_access_token("ab")
    assert packed == b"\x04\x00\x00\x00a\x00b\x00"


def test_backoff_starts_at_the_first_wait_doubles_and_is_capped():
    waits = list(RetryPolicy(attempts=6, first_wait=5, max_wait=30).waits(rng=lambda: 1.0))
    assert waits == [6.25, 12.5, 25.0, 30, 30]
    assert list(RetryPolicy(attempts=3, first_wait=5, max_wait=60).waits(rng=lambda: 0.0)) == [5, 10]


def test_cli_reports_an_unreachable_azure_sql_in_one_line_without_secrets(freetds_settings, monkeypatch):
    monkeypatch.setenv("SCOUT_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("SCOUT_RETRY_FIRST_WAIT_SECONDS", "0")
    done = subprocess.run(
        [sys.executable, "-m", "scout", "migrate", "status"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("scout: ") and "2 time(s)" in lines[-1]
    assert all(line.startswith("WARNING scout.db.mssql transient fault") for line in lines[:-1])  # retry progress
    assert "Traceback" not in done.stderr and LEAK_MARKER not in done.stderr + done.stdout


def test_embedded_default_never_imports_pyodbc():
    code = "import scout.migrations.job as j, sys; j.apply(trigger='cli'); j.status(); print('pyodbc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
