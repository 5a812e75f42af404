"""Contract and rollback: the legacy names move onto views over silver, and back.

Contract (refused unless verify passes): in one transaction, each legacy table is copied aside
(``legacy.<name>_pre_medallion``, same columns and key: kept, never dropped by a job) and replaced by a view
under its legacy name listing the legacy columns explicitly, reading silver. The copy-then-drop is plain
portable T-SQL (no ``sp_rename``), and SQL Server runs DDL inside the transaction: a reader sees the
table or the view, never neither. At the legacy scale (376,212 rows) it takes a few seconds.

Rollback, quick: the refresh switch off, and (when contracted) each view replaced by its legacy table again,
filled from the copy kept aside, in one transaction. Full: quick, then the medallion migrations' undo files
(V033 down to V031) through the migration runner under its lock, leaving the database as before V031.
"""

from __future__ import annotations

from typing import Any

from scout.db.base import Database
from scout.errors import InvalidInput
from scout.medallion.store import (
    ASIDE_SUFFIX,
    COMPAT_SELECT,
    LEGACY_COLUMNS,
    LEGACY_DEFINITIONS,
    set_switch,
    switch,
)

#: The medallion's own migrations, undone by a full rollback (newest first); V030 (the legacy objects) stays.
MEDALLION_VERSIONS = ("33", "32", "31")


class ContractRefused(RuntimeError):
    """Verify did not pass: the legacy tables stay as they are."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def _view(table: str) -> str:
    columns = ", ".join(LEGACY_COLUMNS[table])
    return f"CREATE VIEW legacy.{table} AS SELECT {columns} FROM ({COMPAT_SELECT[table]}) AS c"


def contract(db: Database, by: str) -> dict[str, Any]:
    """Verify, then put the views in place of the legacy tables (refused when verify fails)."""
    from scout.medallion.verify import verify

    if switch(db, "contracted"):
        raise InvalidInput("already contracted: the legacy names are views over silver")
    report = verify(db)
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    if failed:
        raise ContractRefused(
            f"contract refused: verify did not pass ({', '.join(failed)}); the legacy tables are unchanged",
            {"passed": False, "verify": report},
        )
    with db.transaction():
        for table in LEGACY_COLUMNS:
            columns = ", ".join(LEGACY_COLUMNS[table])
            db.execute(f"CREATE TABLE legacy.{table}{ASIDE_SUFFIX} ({LEGACY_DEFINITIONS[table]})")
            db.execute(f"INSERT INTO legacy.{table}{ASIDE_SUFFIX} ({columns}) SELECT {columns} FROM legacy.{table}")
            db.execute(f"DROP TABLE legacy.{table}")
            db.execute(_view(table))
        set_switch(db, "contracted", True, by)
    return {"contracted": True, "verify_before": {"passed": report["passed"], "orphans": report["orphans"]}}


def uncontract(db: Database) -> bool:
    """Inside the caller's transaction: each view back to its legacy table, from the copy kept aside."""
    if not switch(db, "contracted"):
        return False
    for table in LEGACY_COLUMNS:
        columns = ", ".join(LEGACY_COLUMNS[table])
        db.execute(f"DROP VIEW legacy.{table}")
        db.execute(f"CREATE TABLE legacy.{table} ({LEGACY_DEFINITIONS[table]})")
        db.execute(f"INSERT INTO legacy.{table} ({columns}) SELECT {columns} FROM legacy.{table}{ASIDE_SUFFIX}")
        db.execute(f"DROP TABLE legacy.{table}{ASIDE_SUFFIX}")
    return True


def rollback_quick(db: Database, by: str) -> dict[str, Any]:
    """Refresh off; the legacy tables back under their names (when contracted). Silver stays, unused."""
    with db.transaction():
        set_switch(db, "refresh", False, by)
        restored = uncontract(db)
        if restored:
            set_switch(db, "contracted", False, by)
    return {"refresh": False, "legacy_tables_restored": restored}


def rollback_full(db: Database, migrations_dir: str | None, by: str, lock_timeout: float) -> dict[str, Any]:
    """Quick, then the medallion migrations undone (their ``U`` files, newest first, recorded in the ledger)."""
    from scout.migrations import files, ledger, runner

    quick = rollback_quick(db, by)
    found = files.discover(migrations_dir)
    undone = []
    with db.application_lock(runner.LOCK_NAME, lock_timeout):
        applied = ledger.current_state(ledger.read_ledger(db)).applied
        for version in MEDALLION_VERSIONS:
            normal = runner.normalize_version(version)
            if normal in applied and normal in found.undo:
                runner._run_migration(db, found.undo[normal], by, lambda _m: None)
                undone.append(found.undo[normal].script)
    return {**quick, "undone": undone}
