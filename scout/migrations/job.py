"""Migration jobs: what the CLI (`scout migrate ...`) and the Functions triggers both call.

Mutating commands (apply, undo, baseline) run as recorded jobs; status and verify only read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, overload

from scout.config import ConfigError, Settings
from scout.db import connect
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job
from scout.migrations import files, runner


def load_migrations(settings: Settings) -> files.MigrationSet:
    """The migration files; a missing folder or a misnamed file is the server's setup, not the caller's input."""
    try:
        return files.discover(settings["SCOUT_MIGRATIONS_DIR"] or None)
    except files.MigrationFileError as exc:
        raise ConfigError(f"migration files (SCOUT_MIGRATIONS_DIR): {exc}") from None


#: A version as users type it: ``3``, ``1.2``, ``1_2`` (ASCII digits only, a few parts of a few digits).
_VERSION = re.compile(r"^\d{1,9}(?:[._]\d{1,9}){0,4}$", re.ASCII)


@overload
def _check_version(value: str, what: str) -> str: ...
@overload
def _check_version(value: str | None, what: str) -> str | None: ...
def _check_version(value: str | None, what: str) -> str | None:
    """The version's text, or InvalidInput: checked before anything connects or is recorded."""
    if value is None:
        return None
    if not isinstance(value, str) or not _VERSION.fullmatch(value.strip()):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InvalidInput(f"{what} must be a version like 3 or 1.2, got {shown}")
    return value.strip()


def _require_file(migrations: files.MigrationSet, version: str, what: str, *, zero_ok: bool = False) -> None:
    """An unknown version is the caller's mistake (exit 2 / HTTP 400), found before the job is recorded."""
    if zero_ok and files.normalize_version(version) == "0":
        return
    if files.normalize_version(version) not in migrations.by_version():
        known = [m.version for m in migrations.versioned]
        span = f" (versions {known[0]} to {known[-1]}{', or 0' if zero_ok else ''})" if known else ""
        raise InvalidInput(f"{what} version {version} has no V{version}__*.sql file{span}")


def status(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    with connect(settings) as db:  # a missing database file is NoDatabase: status never creates one
        return runner.status(db, migrations)


def verify(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    with connect(settings) as db:
        return runner.verify(db, migrations)


def apply(
    *,
    trigger: str,
    target: str | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
    invocation_id: str = "",
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Apply pending migrations (or show what would run); raises JobFailed, InvalidInput.

    The input is checked against the files first: an unknown target is InvalidInput, never a failed run.
    This is the command that creates the embedded database file.
    """
    settings = settings or Settings.from_env()
    target = _check_version(target, "target")
    migrations = load_migrations(settings)
    if target is not None:
        _require_file(migrations, target, "target")

    def body(ctx: JobContext) -> dict[str, Any]:
        result = runner.apply(
            ctx.db,
            migrations,
            target=target,
            dry_run=dry_run,
            applied_by=ctx.applied_by,
            lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
            progress=ctx.progress,
        )
        result["pending"] = len(runner.status(ctx.db, migrations)["pending"])
        result["applied_count"] = len(result["applied"])
        return result

    with connect(settings, create=True) as db:
        return run_job(
            "migrations.apply",
            trigger,
            body,
            settings=settings,
            invocation_id=invocation_id,
            run_id=run_id,
            progress=progress,
            db=db,
        )


def undo(
    *,
    trigger: str,
    target: str,
    settings: Settings | None = None,
    invocation_id: str = "",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    target = _check_version(target, "target")
    migrations = load_migrations(settings)
    _require_file(migrations, target, "target", zero_ok=True)
    return run_job(
        "migrations.undo",
        trigger,
        lambda ctx: runner.undo(
            ctx.db,
            migrations,
            target=target,
            applied_by=ctx.applied_by,
            lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
            progress=ctx.progress,
        ),
        settings=settings,
        invocation_id=invocation_id,
        progress=progress,
    )


def baseline(
    *, trigger: str, version: str, settings: Settings | None = None, invocation_id: str = ""
) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    version = _check_version(version, "version")
    migrations = load_migrations(settings)
    _require_file(migrations, version, "baseline")
    return run_job(
        "migrations.baseline",
        trigger,
        lambda ctx: runner.baseline(
            ctx.db,
            migrations,
            version=version,
            applied_by=ctx.applied_by,
            lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
        ),
        settings=settings,
        invocation_id=invocation_id,
    )
