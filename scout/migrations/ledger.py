"""The ledger ``ops.migration_history``: what ran, when, by whom, with which checksum, and whether it worked.

One row per attempt (append only). The current state of a migration is its latest row, so a failed
attempt is kept for the record and the next run simply retries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scout.db.base import Database
from scout.migrations.files import REPEATABLE, UNDO, VERSIONED

LEDGER_SCHEMA, LEDGER_TABLE = "ops", "migration_history"
BASELINE = "baseline"

_CREATE_LEDGER = """
CREATE TABLE ops.migration_history (
    installed_rank INT NOT NULL PRIMARY KEY,
    version NVARCHAR(50) NULL,
    description NVARCHAR(200) NOT NULL,
    type NVARCHAR(20) NOT NULL,
    script NVARCHAR(260) NOT NULL,
    checksum NVARCHAR(64) NOT NULL,
    applied_by NVARCHAR(200) NOT NULL,
    applied_at DATETIME2 NOT NULL,
    execution_ms INT NOT NULL,
    success BIT NOT NULL,
    error NVARCHAR(MAX) NULL
)
"""

_COLUMNS = (
    "installed_rank",
    "version",
    "description",
    "type",
    "script",
    "checksum",
    "applied_by",
    "applied_at",
    "execution_ms",
    "success",
    "error",
)


@dataclass(frozen=True)
class LedgerRow:
    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: str
    applied_by: str
    applied_at: datetime
    execution_ms: int
    success: bool
    error: str | None

    @property
    def key(self) -> str:
        return f"R:{self.description}" if self.type == REPEATABLE else (self.version or "")

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _COLUMNS}
        out["applied_at"] = self.applied_at.isoformat() if self.applied_at else None
        return out


def ledger_exists(db: Database) -> bool:
    return db.table_exists(LEDGER_SCHEMA, LEDGER_TABLE)


def ensure_ledger(db: Database) -> None:
    """Create schema ``ops`` and the ledger when missing (the runner owns them, like Flyway's table)."""
    if not db.query_value("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", (LEDGER_SCHEMA,)):
        db.execute("CREATE SCHEMA ops")
    if not ledger_exists(db):
        db.execute(_CREATE_LEDGER)


def read_ledger(db: Database) -> list[LedgerRow]:
    """Every ledger row in the order it was written (one query, whatever the number of files)."""
    if not ledger_exists(db):
        return []
    rows = db.query(f"SELECT {', '.join(_COLUMNS)} FROM ops.migration_history ORDER BY installed_rank")
    return [LedgerRow(**{**dict(zip(_COLUMNS, row)), "success": bool(row[_COLUMNS.index("success")])}) for row in rows]


def record(
    db: Database,
    *,
    version: str | None,
    description: str,
    type: str,
    script: str,
    checksum: str,
    applied_by: str,
    execution_ms: int,
    success: bool,
    error: str | None = None,
) -> None:
    """Append one row; the caller holds the migration lock, so ranks cannot collide."""
    rank = db.query_value("SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM ops.migration_history")
    db.execute(
        f"INSERT INTO ops.migration_history ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            int(rank),
            version,
            description[:200],
            type,
            script,
            checksum,
            applied_by[:200],
            datetime.now(UTC).replace(tzinfo=None),
            int(execution_ms),
            bool(success),
            None if error is None else error[:4000],
        ),
    )


@dataclass(frozen=True)
class LedgerState:
    """What the ledger says now: applied versions (with their row), repeatables' last checksum, failures."""

    applied: dict[str, LedgerRow]
    repeatable: dict[str, LedgerRow]
    failed: dict[str, LedgerRow]
    rows: tuple[LedgerRow, ...]


def current_state(rows: list[LedgerRow]) -> LedgerState:
    applied: dict[str, LedgerRow] = {}
    repeatable: dict[str, LedgerRow] = {}
    failed: dict[str, LedgerRow] = {}
    for row in rows:
        key = row.key
        if row.type == REPEATABLE:
            if row.success:
                repeatable[key] = row
                failed.pop(key, None)
            else:
                failed[key] = row
        elif row.type in (VERSIONED, BASELINE):
            if row.success:
                applied[key] = row
                failed.pop(key, None)
            else:
                failed[key] = row
        elif row.type == UNDO:
            if row.success:
                applied.pop(key, None)
                failed.pop(key, None)
            else:  # the version stays applied; the failed undo is reported until one succeeds
                failed[key] = row
    return LedgerState(applied, repeatable, failed, tuple(rows))
