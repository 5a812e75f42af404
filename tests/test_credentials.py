"""One credential per process: SQL connections, Key Vault and storage clients share the process's
DefaultAzureCredential (one per AZURE_CLIENT_ID), so a token is fetched once per scope, not per connection.

The real DefaultAzureCredential runs, as in an Azure Functions app: its managed identity asks the
App Service identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER) for tokens. Here that endpoint is
a small HTTP server on 127.0.0.1 that hands out tokens and counts the requests.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from scout.config import Settings
from scout.db.mssql_backend import TOKEN_SCOPE, MssqlDatabase, pack_access_token
from scout.exports.destinations import blob_service_for
from scout.secrets import azure_credential, provider_for
from scout.storage import blob_service_client, queue_client
from tests.fakes.fake_pyodbc import FakePyodbc

IDENTITY_HEADER = "identity-header-for-tests"


class IdentityEndpoint(ThreadingHTTPServer):
    """The App Service managed identity endpoint: GET ?resource=...&client_id=... -> a one-hour token."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.requests: list[dict[str, str]] = []  # the query of each token request, as received

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/msi/token"


class _TokenHandler(BaseHTTPRequestHandler):
    server: IdentityEndpoint

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        self.server.requests.append(query)
        if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            status, body = 401, {"error": "missing identity header"}
        else:
            status, body = (
                200,
                {
                    "access_token": f"token-{len(self.server.requests)}-{query.get('client_id', '')}",
                    "expires_on": str(int(time.time()) + 3600),
                    "resource": query["resource"],
                    "token_type": "Bearer",
                },
            )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def identity(monkeypatch):
    endpoint = IdentityEndpoint()
    thread = threading.Thread(target=endpoint.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    yield endpoint
    endpoint.shutdown()
    endpoint.server_close()


def managed_identity_settings(**overrides: str) -> Settings:
    """Settings of a deployed app; a client id of its own per test, so each test starts with a cold credential."""
    return Settings.from_env(
        {
            "AZURE_CLIENT_ID": str(uuid.uuid4()),
            "KEY_VAULT_URL": "https://scout-kv.vault.azure.net",
            "AzureWebJobsStorage__queueServiceUri": "https://scoutjobs.queue.core.windows.net",
            "AzureWebJobsStorage__blobServiceUri": "https://scoutjobs.blob.core.windows.net",
            "SCOUT_RETRY_ATTEMPTS": "1",
            **overrides,
        }
    )


def test_sql_key_vault_and_storage_clients_all_use_the_one_credential_of_the_process():
    settings = managed_identity_settings()
    credential = azure_credential(settings)

    assert type(credential).__name__ == "DefaultAzureCredential"
    assert azure_credential(settings) is credential
    assert azure_credential(Settings.from_env({"AZURE_CLIENT_ID": settings["AZURE_CLIENT_ID"]})) is credential
    assert provider_for(settings).credential is credential
    assert queue_client(settings, "scout-jobs", create=False).credential is credential
    assert queue_client(settings, "scout-montecarlo", create=False).credential is credential
    assert blob_service_client(settings).credential is credential
    assert blob_service_for("https://exports.blob.core.windows.net", settings).credential is credential


def test_a_second_sql_connection_gets_its_token_from_the_credential_cache(identity):
    settings = managed_identity_settings()
    pyodbc = FakePyodbc()

    first = MssqlDatabase("srv.database.windows.net", "scout", settings, connect_fn=pyodbc.connect)
    second = MssqlDatabase("srv.database.windows.net", "scout", settings, connect_fn=pyodbc.connect)

    assert [r["resource"] for r in identity.requests] == [TOKEN_SCOPE.removesuffix("/.default")]
    assert identity.requests[0]["client_id"] == settings["AZURE_CLIENT_ID"]
    token = f"token-1-{settings['AZURE_CLIENT_ID']}"
    assert [attrs for _, attrs in pyodbc.server.logins] == [{1256: pack_access_token(token)}] * 2
    first.close()
    second.close()


def test_each_scope_is_fetched_once_however_many_clients_ask(identity):
    settings = managed_identity_settings()
    storage_scope = "https://storage.azure.com/.default"

    tokens = {
        azure_credential(settings).get_token(scope).token
        for scope in (TOKEN_SCOPE, storage_scope, TOKEN_SCOPE, storage_scope)
    }

    assert sorted(r["resource"] for r in identity.requests) == [
        "https://database.windows.net",
        "https://storage.azure.com",
    ]
    assert len(tokens) == 2


def test_another_client_id_is_another_identity_with_a_credential_of_its_own(identity):
    one, other = managed_identity_settings(), managed_identity_settings()

    assert azure_credential(one) is not azure_credential(other)
    first = azure_credential(one).get_token(TOKEN_SCOPE).token
    second = azure_credential(other).get_token(TOKEN_SCOPE).token

    assert [r["client_id"] for r in identity.requests] == [one["AZURE_CLIENT_ID"], other["AZURE_CLIENT_ID"]]
    assert first != second


def test_threads_starting_together_share_one_credential():
    settings = managed_identity_settings()
    barrier, seen = threading.Barrier(8), []

    def work():
        barrier.wait()
        seen.append(azure_credential(settings))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 8 and len({id(c) for c in seen}) == 1
