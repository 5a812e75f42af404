"""Migration jobs: what the CLI (`scout migrate ...`) and the Functions triggers both call.

Mutating commands (apply, undo, baseline) run as recorded jobs; status and verify only read.
"""

from __future__ import annotations

from typing import Any, Callable

from scout.config import Settings
from scout.db import connect
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job
from scout.migrations import files, runner


def load_migrations(settings: Settings) -> files.MigrationSet:
    try:
        return files.discover(settings["SCOUT_MIGRATIONS_DIR"] or None)
    except files.MigrationFileError as exc:
        raise InvalidInput(str(exc)) from None


def _check_version(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or files.parse_name(f"V{value.strip()}__x.sql") is None:
        raise InvalidInput(f"{what} must be a version like 3 or 1.2, got {value!r}")
    return value.strip()


def status(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    with connect(settings) as db:
        return runner.status(db, migrations)


def verify(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    with connect(settings) as db:
        return runner.verify(db, migrations)


def apply(*, trigger: str, target: str | None = None, dry_run: bool = False, settings: Settings | None = None,
          invocation_id: str = "", run_id: str | None = None,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Apply pending migrations (or show what would run); raises JobFailed, InvalidInput."""
    settings = settings or Settings.from_env()
    target = _check_version(target, "target")
    migrations = load_migrations(settings)

    def body(ctx: JobContext) -> dict[str, Any]:
        result = runner.apply(ctx.db, migrations, target=target, dry_run=dry_run, applied_by=ctx.applied_by,
                              lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"], progress=ctx.progress)
        result["pending"] = len(runner.status(ctx.db, migrations)["pending"])
        result["applied_count"] = len(result["applied"])
        return result

    return run_job("migrations.apply", trigger, body, settings=settings, invocation_id=invocation_id,
                   run_id=run_id, progress=progress)


def undo(*, trigger: str, target: str, settings: Settings | None = None, invocation_id: str = "",
         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    target = _check_version(target, "target")
    migrations = load_migrations(settings)
    return run_job("migrations.undo", trigger,
                   lambda ctx: runner.undo(ctx.db, migrations, target=target, applied_by=ctx.applied_by,
                                           lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
                                           progress=ctx.progress),
                   settings=settings, invocation_id=invocation_id, progress=progress)


def baseline(*, trigger: str, version: str, settings: Settings | None = None,
             invocation_id: str = "") -> dict[str, Any]:
    settings = settings or Settings.from_env()
    version = _check_version(version, "version")
    migrations = load_migrations(settings)
    return run_job("migrations.baseline", trigger,
                   lambda ctx: runner.baseline(ctx.db, migrations, version=version, applied_by=ctx.applied_by,
                                               lock_timeout=settings["SCOUT_LOCK_TIMEOUT_SECONDS"]),
                   settings=settings, invocation_id=invocation_id)
