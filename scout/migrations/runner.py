"""The migration pipeline: discover files → plan against the ledger → apply each in a transaction → record.

Every command takes an open ``Database`` and a ``MigrationSet``; the CLI and the Functions triggers
call these same functions (through ``scout.migrations.job``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scout.db.base import Database, DatabaseError
from scout.migrations import ledger
from scout.migrations.files import Migration, MigrationSet, normalize_version, version_key

if TYPE_CHECKING:
    from scout.sql.lint import LintError

LOCK_NAME = "scout-migrations"

Progress = Callable[[str], None]


class MigrationError(RuntimeError):
    """A command could not be carried out; the message says which file and why."""


class LintFailed(MigrationError):
    """A pending migration breaks the T-SQL lint (or the schema the migrations build together); nothing
    was applied."""


class DriftError(MigrationError):
    """Applied migrations differ from their files: fix the files (or the ledger) before applying more."""


def _describe(m: Migration) -> dict[str, Any]:
    return {
        "version": m.version,
        "description": m.description,
        "type": m.type,
        "script": m.script,
        "checksum": m.checksum,
    }


def _row(r: ledger.LedgerRow) -> dict[str, Any]:
    return {
        "version": r.version,
        "description": r.description,
        "type": r.type,
        "script": r.script,
        "checksum": r.checksum,
        "applied_by": r.applied_by,
        "applied_at": r.applied_at.isoformat() if r.applied_at else None,
        "execution_ms": r.execution_ms,
    }


# -- plan ---------------------------------------------------------------------------------------------


@dataclass
class Plan:
    versioned: list[Migration]
    repeatable: list[Migration]

    @property
    def steps(self) -> list[Migration]:
        return self.versioned + self.repeatable


def plan(migrations: MigrationSet, state: ledger.LedgerState, target: str | None = None) -> Plan:
    """Pending versioned migrations up to ``target`` (inclusive), then repeatables whose checksum changed.

    Repeatables run only when every versioned migration is (or will be) applied: a view may read any table.
    """
    limit = version_key(normalize_version(target)) if target else None
    if target and normalize_version(target) not in migrations.by_version():
        raise MigrationError(f"target version {target} has no V{target}__*.sql file")
    pending = [
        m for m in migrations.versioned if m.version not in state.applied and (limit is None or m.version_key <= limit)
    ]
    all_versioned_done = all(m.version in state.applied or m in pending for m in migrations.versioned)
    repeatable = []
    if all_versioned_done:
        repeatable = [
            m
            for m in migrations.repeatable
            if state.repeatable.get(m.key) is None or state.repeatable[m.key].checksum != m.checksum
        ]
    return Plan(pending, repeatable)


def drift(migrations: MigrationSet, state: ledger.LedgerState) -> dict[str, list[dict[str, Any]]]:
    """Ledger vs files: applied scripts whose checksum changed, applied versions whose file is gone,
    and .sql files whose names follow no convention. A ledger checksum the file declares it amends
    (``-- scout:amends``) is not a change: see :func:`amendments`."""
    files = migrations.by_version()
    changed, missing = [], []
    for version, row in state.applied.items():
        if row.type == ledger.BASELINE:
            continue
        m = files.get(version)
        if m is None:
            missing.append(_row(row))
        elif m.checksum != row.checksum and m.amended(row.checksum) is None:
            changed.append({**_describe(m), "ledger_checksum": row.checksum})
    return {"changed": changed, "missing": missing, "unknown": [{"script": s} for s in migrations.unknown]}


def amendments(migrations: MigrationSet, state: ledger.LedgerState) -> list[dict[str, Any]]:
    """Applied versions recorded with a checksum their file now declares amended (informational)."""
    found, files = [], migrations.by_version()
    for version, row in state.applied.items():
        m = files.get(version)
        amendment = m.amended(row.checksum) if m is not None and m.checksum != row.checksum else None
        if m is not None and amendment is not None:
            found.append({**_describe(m), "ledger_checksum": row.checksum, "reason": amendment.reason})
    return found


def schema_order(migrations: MigrationSet, state: ledger.LedgerState) -> list[Migration]:
    """Every versioned file in the order the database gets (or got) it: applied ones in ledger order,
    then the pending ones in version order."""
    applied = sorted(
        (m for m in migrations.versioned if m.key in state.applied),
        key=lambda m: state.applied[m.key].installed_rank,
    )
    return applied + [m for m in migrations.versioned if m.key not in state.applied]


# -- status -------------------------------------------------------------------------------------------


def status(db: Database, migrations: MigrationSet) -> dict[str, Any]:
    """Applied and pending migrations (versioned and repeatable), failures and drift, in one ledger read."""
    state = ledger.current_state(ledger.read_ledger(db))
    pending_plan = plan(migrations, state)
    files = migrations.by_version()
    applied = []
    for _version, row in sorted(state.applied.items(), key=lambda kv: version_key(kv[0])):
        applied.append({**_row(row), "checksum": row.checksum})
    for m in migrations.repeatable:
        repeatable_row = state.repeatable.get(m.key)
        if repeatable_row is not None and repeatable_row.checksum == m.checksum:
            applied.append(_row(repeatable_row))
    pending = [_describe(m) for m in migrations.versioned if m.version not in state.applied]
    pending += [_describe(m) for m in pending_plan.repeatable]
    return {
        "database": db.display_name,
        "applied": applied,
        "pending": pending,
        "failed": [{**_row(r), "error": r.error} for r in state.failed.values()],
        "drift": drift(migrations, state),
        "latest_version": max((v for v in state.applied), key=version_key, default=None),
        "files": len(files) + len(migrations.repeatable),
    }


# -- apply --------------------------------------------------------------------------------------------


def _run_migration(db: Database, m: Migration, applied_by: str, progress: Progress) -> int:
    """Run one migration's batches in one transaction and record it; on failure nothing of it remains
    and the failure is recorded in a transaction of its own."""
    started = time.perf_counter()
    batch_no = 0
    try:
        with db.transaction():
            for batch_no, batch in enumerate(m.batches, start=1):  # noqa: B007 - the except below names the batch
                db.assert_lock_held(LOCK_NAME)
                for statement in db.translate_batch(batch):
                    db.execute_native(statement)
            elapsed = int((time.perf_counter() - started) * 1000)
            ledger.record(
                db,
                version=m.version,
                description=m.description,
                type=m.type,
                script=m.script,
                checksum=m.checksum,
                applied_by=applied_by,
                execution_ms=elapsed,
                success=True,
            )
    except DatabaseError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        reason = f"{m.script} batch {batch_no}: {exc}"
        try:
            with db.transaction():
                ledger.record(
                    db,
                    version=m.version,
                    description=m.description,
                    type=m.type,
                    script=m.script,
                    checksum=m.checksum,
                    applied_by=applied_by,
                    execution_ms=elapsed,
                    success=False,
                    error=reason,
                )
        except DatabaseError:
            pass  # the connection itself is gone: the caller reports the original failure
        raise MigrationError(f"migration failed and was rolled back: {reason}") from exc
    progress(f"applied {m.script} ({elapsed} ms)")
    return elapsed


def dry_run_sql(db: Database, m: Migration) -> dict[str, list[str]]:
    """The exact SQL each engine would run for ``m``: T-SQL batches as written, DuckDB statements translated."""
    from scout.db.translate import tsql_to_duckdb

    return {"tsql": list(m.batches), "duckdb": [s for b in m.batches for s in tsql_to_duckdb(b)]}


def apply(
    db: Database,
    migrations: MigrationSet,
    *,
    target: str | None = None,
    dry_run: bool = False,
    applied_by: str = "scout",
    lock_timeout: float = 30.0,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Apply pending migrations under the migration lock; returns what was (or would be) applied."""
    if dry_run:
        state = ledger.current_state(ledger.read_ledger(db))
        _refuse_drift(migrations, state)
        steps = plan(migrations, state, target).steps
        _refuse_lint(migrations, state, steps)
        return {
            "dry_run": True,
            "applied": [],
            "would_apply": [{**_describe(m), "sql": dry_run_sql(db, m)} for m in steps],
        }
    with db.application_lock(LOCK_NAME, lock_timeout):
        with db.transaction():
            ledger.ensure_ledger(db)
        state = ledger.current_state(ledger.read_ledger(db))
        _refuse_drift(migrations, state)
        steps = plan(migrations, state, target).steps
        _refuse_lint(migrations, state, steps)
        done = []
        for m in steps:
            elapsed = _run_migration(db, m, applied_by, progress)
            done.append({**_describe(m), "execution_ms": elapsed})
    return {"dry_run": False, "applied": done, "would_apply": []}


def _schema_errors(migrations: MigrationSet, state: ledger.LedgerState) -> list[LintError]:
    from scout.sql.schema_lint import lint_schema

    return lint_schema((m.script, m.batches) for m in schema_order(migrations, state))


def _refuse_lint(migrations: MigrationSet, state: ledger.LedgerState, steps: list[Migration]) -> None:
    """Lint the files about to run, and the schema all versioned files build together: an error in a file
    about to run refuses the whole apply (errors in applied files are reported by verify)."""
    from scout.migrations.lint import lint_migration

    errors = [str(e) for m in steps for e in lint_migration(m)]
    running = {m.script for m in steps}
    errors += [str(e) for e in _schema_errors(migrations, state) if e.script in running]
    if errors:
        shown = "; ".join(errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
        raise LintFailed(f"T-SQL lint failed (see sql/README.md), nothing applied: {shown}")


def _refuse_drift(migrations: MigrationSet, state: ledger.LedgerState) -> None:
    found = drift(migrations, state)
    if found["changed"] or found["missing"]:
        names = [c["script"] for c in found["changed"]] + [f"V{m['version']} (file missing)" for m in found["missing"]]
        raise DriftError(f"applied migrations differ from their files: {', '.join(names)}; run 'scout migrate verify'")


# -- undo and baseline --------------------------------------------------------------------------------


def undo(
    db: Database,
    migrations: MigrationSet,
    *,
    target: str,
    applied_by: str = "scout",
    lock_timeout: float = 30.0,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Undo every applied version above ``target``, newest first, each with its ``U`` file in a transaction."""
    limit = version_key(normalize_version(target))
    undone = []
    with db.application_lock(LOCK_NAME, lock_timeout):
        with db.transaction():
            ledger.ensure_ledger(db)
        state = ledger.current_state(ledger.read_ledger(db))
        to_undo = sorted((v for v in state.applied if version_key(v) > limit), key=version_key, reverse=True)
        missing = [v for v in to_undo if v not in migrations.undo]
        if missing:
            raise MigrationError(f"no undo file for version(s) {', '.join(missing)}: nothing was undone")
        for version in to_undo:
            elapsed = _run_migration(db, migrations.undo[version], applied_by, progress)
            undone.append({**_describe(migrations.undo[version]), "execution_ms": elapsed})
    return {"undone": undone, "target": normalize_version(target)}


def baseline(
    db: Database, migrations: MigrationSet, *, version: str, applied_by: str = "scout", lock_timeout: float = 30.0
) -> dict[str, Any]:
    """Mark versions up to ``version`` as present without running them (a database that already has them)."""
    limit = version_key(normalize_version(version))
    if normalize_version(version) not in migrations.by_version():
        raise MigrationError(f"baseline version {version} has no V{version}__*.sql file")
    marked = []
    with db.application_lock(LOCK_NAME, lock_timeout):
        with db.transaction():
            ledger.ensure_ledger(db)
            state = ledger.current_state(ledger.read_ledger(db))
            for m in migrations.versioned:
                if m.version_key <= limit and m.version not in state.applied:
                    ledger.record(
                        db,
                        version=m.version,
                        description=m.description,
                        type=ledger.BASELINE,
                        script=m.script,
                        checksum=m.checksum,
                        applied_by=applied_by,
                        execution_ms=0,
                        success=True,
                    )
                    marked.append(_describe(m))
    return {"baselined": marked, "version": normalize_version(version)}


def verify(db: Database, migrations: MigrationSet) -> dict[str, Any]:
    """Drift report plus lint: ``ok`` is False when any applied migration changed or vanished, a file is
    misnamed, a file breaks the T-SQL lint, or the versioned files together build a schema SQL Server
    refuses (``apply`` would refuse them). ``warnings`` (future keywords) and ``amended`` (applied texts
    a file declares it amends) are informational."""
    from scout.migrations.lint import lint_migration

    state = ledger.current_state(ledger.read_ledger(db))
    found = drift(migrations, state)
    every = [*migrations.versioned, *migrations.undo.values(), *migrations.repeatable]
    findings = [e for m in every for e in lint_migration(m, warnings=True)]
    findings += _schema_errors(migrations, state)
    found["lint"] = [_finding(e) for e in findings if e.is_error]
    ok = not any(found.values())
    return {
        "ok": ok,
        **found,
        "warnings": [_finding(e) for e in findings if not e.is_error],
        "amended": amendments(migrations, state),
    }


def _finding(e: LintError) -> dict[str, Any]:
    return {"script": e.script, "batch": e.batch, "line": e.line, "message": e.message, "error": str(e)}
