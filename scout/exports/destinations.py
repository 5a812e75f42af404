"""Where exports are published: a local folder (embedded default) or an Azure Blob container.

Both publish the same way, so a reader never sees a half-written export: the files go into a new
folder ``flat/<UTC stamp>_<run>/`` first, and only then is ``flat/latest.json`` (the manifest plus
the folder's name) replaced — atomically on disk, last of all in Blob Storage.

An export whose process was killed leaves its staging folder (and, killed at the last instant, a temporary
pointer) behind. Each export removes such leftovers when it starts staging and after it publishes: those
untouched for longer than the lease (``SCOUT_RUN_LEASE_SECONDS``) whose owner is gone. A live export holds an
exclusive ``flock`` on its staging folder until it is published or discarded (the kernel releases it when its
process dies), so a live one is never removed, however long it has been quiet.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scout.config import Settings
from scout.errors import InvalidInput

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux: leftovers are judged by their age alone
    fcntl = None  # type: ignore[assignment]

LATEST = "latest.json"
MANIFEST = "manifest.json"
#: Folder-name prefix of a local export's staging folder (inside ``flat/``).
STAGING_PREFIX = ".staging-"
#: A temporary pointer, written next to ``latest.json`` and then renamed over it.
TEMP_POINTER = re.compile(r"^\.latest\.json\..+\.tmp$")
#: Blob exports stage locally, in this folder under the system's temporary folder.
BLOB_STAGING_FOLDER = "scout-export-staging"
BLOB_STAGING_PREFIX = "scout-export-"
DEFAULT_LEASE_SECONDS = 300.0
log = logging.getLogger("scout.exports")


class _StagingLocks:
    """The staging folders this process is writing, each held with an exclusive ``flock`` until it is
    published or discarded (a folder's lock: its open descriptor, released by the kernel if we die)."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}

    def hold(self, folder: Path) -> None:
        if fcntl is None:
            return
        fd = os.open(folder, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a cleaner looks at it (a moment)
        self._held[os.path.abspath(folder)] = fd

    def release(self, folder: Path) -> None:
        fd = self._held.pop(os.path.abspath(folder), None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock


_staging_locks = _StagingLocks()


def _newest_change(path: Path) -> float:
    """When anything in ``path`` (a file, or a folder and everything in it) last changed."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, names in os.walk(path):
            for name in (*dirs, *names):
                try:
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
                except FileNotFoundError:
                    pass
    return newest


def _owner_gone(folder: Path) -> int | None:
    """Lock ``folder`` if no live export holds it: returns the descriptor (the caller closes it), or None
    when its export is alive (or it vanished meanwhile)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_leftovers(
    folder: Path,
    *,
    staging_prefix: str,
    older_than_seconds: float,
    temp_files: re.Pattern[str] | None = None,
    now: float | None = None,
) -> list[str]:
    """Remove from ``folder`` the staging folders (names starting with ``staging_prefix``) and temporary
    files (names matching ``temp_files``) of killed exports: untouched for longer than ``older_than_seconds``
    and, for a staging folder, not locked by a live export. Returns the names removed."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        entries = list(folder.iterdir())
    except OSError as exc:  # no such folder yet, or not readable: nothing of ours to tidy
        if not isinstance(exc, FileNotFoundError):
            log.warning("could not look for leftovers of killed exports in %s: %s", folder, exc)
        return removed
    for entry in entries:
        try:
            if entry.name.startswith(staging_prefix) and entry.is_dir() and not entry.is_symlink():
                fd = _owner_gone(entry)
                if fd is None:
                    continue
                try:
                    if now - _newest_change(entry) > older_than_seconds:
                        shutil.rmtree(entry)
                        removed.append(entry.name)
                finally:
                    os.close(fd)
            elif temp_files is not None and temp_files.match(entry.name) and entry.is_file():
                if now - entry.lstat().st_mtime > older_than_seconds:
                    entry.unlink()
                    removed.append(entry.name)
        except FileNotFoundError:  # another export removed it first
            continue
        except OSError as exc:  # not ours to remove (permissions): leave it, say so
            log.warning("could not remove the leftover %s: %s", entry, exc)
    if removed:
        log.info("removed leftovers of killed exports in %s: %s", folder, ", ".join(sorted(removed)))
    return removed


class LocalDestination:
    def __init__(self, root: str | os.PathLike[str], *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.root = Path(root)
        self.flat = self.root / "flat"
        self.lease_seconds = lease_seconds

    def describe(self, folder: str = "") -> str:
        return str(self.flat / folder) if folder else str(self.flat)

    def new_staging(self, run_id: str) -> Path:
        """A staging folder on the same disk as the target, so publishing is a rename; held (locked) by this
        export until published or discarded. Leftovers of killed exports are removed first."""
        self.flat.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{run_id[:8]}-", dir=self.flat))
        _staging_locks.hold(staging)
        return staging

    def remove_leftovers(self) -> list[str]:
        """Staging folders and temporary pointers of killed exports (untouched for longer than the lease,
        their export gone); never a live export's."""
        return remove_leftovers(
            self.flat, staging_prefix=STAGING_PREFIX, temp_files=TEMP_POINTER, older_than_seconds=self.lease_seconds
        )

    def publish(self, staging: Path, folder: str, manifest: dict[str, Any]) -> str:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        final = self.flat / folder
        os.chmod(staging, 0o755)  # mkdtemp made it private
        try:
            os.rename(staging, final)
            pointer = self.flat / f".{LATEST}.{folder}.tmp"
            pointer.write_text(
                json.dumps({**manifest, "folder": folder, "location": str(final)}, indent=2), encoding="utf-8"
            )
            os.replace(pointer, self.flat / LATEST)
        finally:
            _staging_locks.release(staging)
        self.remove_leftovers()
        return str(final)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
        _staging_locks.release(staging)

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
        self.lease_seconds = float(settings["SCOUT_RUN_LEASE_SECONDS"])
        self._container: Any = None

    def describe(self, folder: str = "") -> str:
        return f"{self.account_url}/{self.container_name}/{self.prefix}" + (f"/{folder}" if folder else "")

    def container(self) -> Any:
        if self._container is None:
            from azure.core.exceptions import ResourceExistsError

            self._container = blob_service_for(self.account_url, self.settings).get_container_client(
                self.container_name
            )
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
        return self._container

    @staticmethod
    def staging_root() -> Path:
        return Path(tempfile.gettempdir()) / BLOB_STAGING_FOLDER

    def new_staging(self, run_id: str) -> Path:
        """A local staging folder (the files are uploaded from it), held by this export until published or
        discarded. Leftovers of killed exports are removed first."""
        root = self.staging_root()
        root.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f"{BLOB_STAGING_PREFIX}{run_id[:8]}-", dir=root))
        _staging_locks.hold(staging)
        return staging

    def remove_leftovers(self) -> list[str]:
        """Local staging folders of killed exports (untouched for longer than the lease, their export gone)."""
        return remove_leftovers(
            self.staging_root(), staging_prefix=BLOB_STAGING_PREFIX, older_than_seconds=self.lease_seconds
        )

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
            _staging_locks.release(staging)
        self.remove_leftovers()
        return self.describe(folder)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
        _staging_locks.release(staging)

    def latest(self) -> dict[str, Any] | None:
        """The latest manifest, read while a caller waits: with a fail-fast client, so a storage outage is
        a StorageUnavailable (503) within seconds, not the SDK's minutes of retries."""
        from azure.core.exceptions import ResourceNotFoundError

        from scout.storage import storage_errors

        with storage_errors("reading the latest export"):
            container = blob_service_for(self.account_url, self.settings, fail_fast=True).get_container_client(
                self.container_name
            )
            try:
                data = container.download_blob(f"{self.prefix}/{LATEST}").readall()
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


def blob_service_for(account_url: str, settings: Settings, *, fail_fast: bool = False) -> Any:
    """A client for the account; ``fail_fast`` for reads a caller waits on (``scout.storage.FAIL_FAST``),
    the SDK's patient defaults for uploads."""
    from azure.storage.blob import BlobServiceClient

    from scout.storage import FAIL_FAST

    options = FAIL_FAST if fail_fast else {}
    conn = settings["AzureWebJobsStorage"]
    if conn:
        fields = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
        if fields.get("BlobEndpoint", "").rstrip("/") == account_url.rstrip("/"):
            return BlobServiceClient.from_connection_string(conn, **options)
    from scout.secrets import azure_credential

    return BlobServiceClient(account_url, credential=azure_credential(settings), **options)


def destination_for(out: str | None, settings: Settings) -> LocalDestination | BlobDestination:
    target = out or settings["SCOUT_EXPORT_DESTINATION"]
    if target.startswith(("http://", "https://")):
        return BlobDestination(target, settings)
    if "://" in target:
        raise InvalidInput(
            f"--out must be a folder or an https://<account>.blob.core.windows.net/<container> URL: {target}"
        )
    return LocalDestination(target, lease_seconds=float(settings["SCOUT_RUN_LEASE_SECONDS"]))
