"""Where exports are published: a local folder (embedded default) or an Azure Blob container.

Both publish the same way, so a reader never sees a half-written export: the files go into a new
folder ``flat/<UTC stamp>_<run>/`` first, and only then is ``flat/latest.json`` (the manifest plus
the folder's name) replaced — atomically on disk, last of all in Blob Storage.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scout.config import Settings
from scout.errors import InvalidInput

LATEST = "latest.json"
MANIFEST = "manifest.json"


class LocalDestination:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.flat = self.root / "flat"

    def describe(self, folder: str = "") -> str:
        return str(self.flat / folder) if folder else str(self.flat)

    def new_staging(self, run_id: str) -> Path:
        """A staging folder on the same disk as the target, so publishing is a rename."""
        self.flat.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".staging-{run_id[:8]}-", dir=self.flat))

    def publish(self, staging: Path, folder: str, manifest: dict[str, Any]) -> str:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        final = self.flat / folder
        os.chmod(staging, 0o755)  # mkdtemp made it private
        os.rename(staging, final)
        pointer = self.flat / f".{LATEST}.{folder}.tmp"
        pointer.write_text(json.dumps({**manifest, "folder": folder, "location": str(final)}, indent=2),
                           encoding="utf-8")
        os.replace(pointer, self.flat / LATEST)
        return str(final)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def latest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.flat / LATEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None


class BlobDestination:
    """A container (and optional prefix) in Azure Blob Storage, reached with the managed identity —
    or with the local storage connection string when the URL names that account (Azurite)."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url.rstrip("/")
        self.account_url, self.container_name, prefix = split_blob_url(self.url)
        self.prefix = "/".join(p for p in (prefix, "flat") if p)
        self.settings = settings
        self._container: Any = None

    def describe(self, folder: str = "") -> str:
        return f"{self.account_url}/{self.container_name}/{self.prefix}" + (f"/{folder}" if folder else "")

    def container(self) -> Any:
        if self._container is None:
            from azure.core.exceptions import ResourceExistsError

            self._container = blob_service_for(self.account_url, self.settings).get_container_client(
                self.container_name)
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
        return self._container

    def new_staging(self, run_id: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"scout-export-{run_id[:8]}-"))

    def publish(self, staging: Path, folder: str, manifest: dict[str, Any]) -> str:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        container, uploaded = self.container(), []
        try:
            for path in sorted(staging.iterdir()):
                name = f"{self.prefix}/{folder}/{path.name}"
                with open(path, "rb") as fh:
                    container.upload_blob(name, fh, overwrite=True, max_concurrency=4)
                uploaded.append(name)
            pointer = json.dumps({**manifest, "folder": folder, "location": self.describe(folder)}, indent=2)
            container.upload_blob(f"{self.prefix}/{LATEST}", pointer.encode("utf-8"), overwrite=True)
        except Exception:
            for name in uploaded:  # the pointer never moved: remove the orphaned half
                try:
                    container.delete_blob(name)
                except Exception:
                    pass
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.describe(folder)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def latest(self) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data = self.container().download_blob(f"{self.prefix}/{LATEST}").readall()
        except ResourceNotFoundError:
            return None
        return json.loads(data)


def split_blob_url(url: str) -> tuple[str, str, str]:
    """(account URL, container, prefix) of ``https://<account>.blob.core.windows.net/<container>[/prefix]``
    or an emulator URL ``http://127.0.0.1:10000/<account>/<container>[/prefix]``."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"not a blob URL: {url}")
    if ".blob." in (parsed.hostname or ""):
        if not parts:
            raise InvalidInput(f"blob URL needs a container: {url}")
        return f"{parsed.scheme}://{parsed.netloc}", parts[0], "/".join(parts[1:])
    if len(parts) < 2:
        raise InvalidInput(f"emulator blob URL needs /<account>/<container>: {url}")
    return f"{parsed.scheme}://{parsed.netloc}/{parts[0]}", parts[1], "/".join(parts[2:])


def blob_service_for(account_url: str, settings: Settings) -> Any:
    from azure.storage.blob import BlobServiceClient

    conn = settings["AzureWebJobsStorage"]
    if conn:
        fields = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
        if fields.get("BlobEndpoint", "").rstrip("/") == account_url.rstrip("/"):
            return BlobServiceClient.from_connection_string(conn)
    from scout.secrets import azure_credential

    return BlobServiceClient(account_url, credential=azure_credential(settings))


def destination_for(out: str | None, settings: Settings) -> LocalDestination | BlobDestination:
    target = out or settings["SCOUT_EXPORT_DESTINATION"]
    if target.startswith(("http://", "https://")):
        return BlobDestination(target, settings)
    if "://" in target:
        raise InvalidInput(f"--out must be a folder or an https://<account>.blob.core.windows.net/<container> URL: {target}")
    return LocalDestination(target)
