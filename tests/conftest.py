"""Shared fixtures: a fresh embedded database per test, and a real Azurite for storage tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from scout.config import SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's settings; each runs in its own folder."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    for name in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "AzureWebJobsStorage",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path / 'scout.duckdb'}"
    monkeypatch.setenv("SCOUT_DATABASE_URL", url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.from_env()


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    """A database with every migration applied."""
    from scout.migrations import job

    job.apply(trigger="cli", settings=settings)
    return settings


def prepared_template(tmp_path_factory: pytest.TempPathFactory, name: str, prepare) -> Path:
    """A migrated database file, prepared once by ``prepare(db)`` for a module's tests, which each work on a
    copy of it (``copy_of``): migrating is the slow part."""
    from scout.db import connect
    from scout.migrations import job

    path = tmp_path_factory.mktemp(name) / "template.duckdb"
    settings = Settings.from_env({}, SCOUT_DATABASE_URL=f"duckdb:///{path}")
    job.apply(trigger="cli", settings=settings)
    with connect(settings) as db:
        prepare(db)
    return path


def copy_of(template: Path, settings: Settings):
    """The test's own database (``settings``) as a copy of ``template``, open."""
    from scout.db import connect

    shutil.copyfile(template, settings.database_url.removeprefix("duckdb:///"))
    return connect(settings)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _azurite_binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite"
    found = str(local) if local.exists() else shutil.which("azurite")
    if not found:
        pytest.fail("Azurite is not installed: run scripts/test (it runs 'npm ci')")
    return found


def storage_at(blob_port: int, queue_port: int | None = None) -> str:
    """A connection string for Azurite's documented well-known development account (public, emulator only)
    on 127.0.0.1: Blob on ``blob_port``, Queue on ``queue_port`` (the same port when not given)."""
    account = "devstoreaccount1"
    key = os.environ.get(
        "AZURITE_ACCOUNT_KEY",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    )
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{account};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port or blob_port}/{account};"
    )


class PrivateAzurite:
    """An Azurite queue service of one test's own, so the test may stop it (storage going down)."""

    def __init__(self) -> None:
        self.port = _free_port()
        full = Path(_azurite_binary())
        queue_only = full.with_name("azurite-queue")
        self.proc = subprocess.Popen(
            [
                str(queue_only if queue_only.exists() else full),
                "--silent",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("the test's own Azurite did not start")
                time.sleep(0.1)

    @property
    def connection_string(self) -> str:
        return storage_at(self.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory):
    """A real Azurite (Blob + Queue) on free loopback ports; yields its connection string."""
    blob_port, queue_port, table_port = _free_port(), _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            _azurite_binary(),
            "--silent",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path_factory.mktemp("azurite"),
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            for port in (blob_port, queue_port):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"Azurite did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.1)
    conn = storage_at(blob_port, queue_port)
    try:
        yield conn
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def functions() -> dict:
    """The app's functions by name, indexed once per process (azure-functions refuses a second index)."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def call_http(
    functions: dict,
    name: str,
    method: str = "GET",
    url: str = "http://localhost/api/",
    body: bytes | str = b"",
    route_params: dict | None = None,
    params: dict | None = None,
):
    """Invoke an HTTP function the way the host does: a real func.HttpRequest, plus a Context when asked."""
    import inspect
    import json as _json
    import types

    import azure.functions as func

    if isinstance(body, str):
        body = body.encode()
    req = func.HttpRequest(
        method,
        url,
        body=body,
        route_params=route_params or {},
        params=params or {},
        headers={"content-type": "application/json"},
    )
    user_fn = functions[name].get_user_function()
    kwargs = {}
    if "context" in inspect.signature(user_fn).parameters:
        kwargs["context"] = types.SimpleNamespace(invocation_id="test-invocation", function_name=name)
    response = user_fn(req, **kwargs)
    raw = response.get_body() or b""
    if response.mimetype == "application/json":
        payload = _json.loads(raw) if raw else None
    else:
        payload = raw if response.mimetype.startswith("image/") else raw.decode()
    return response.status_code, payload, response
