"""Health: per layer its rows and freshness, gold's last refresh and gaps, and the last verify (read only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from scout.db.base import Database
from scout.jobs.runs import now_utc
from scout.medallion import gold
from scout.medallion.store import LEGACY_COLUMNS, last_logged, legacy_source, switch

#: Days after a passing verify (the one contract runs) before the legacy tables kept aside may be dropped.
DROP_AFTER_DAYS = 30


def _count(db: Database, sql: str) -> int:
    row = db.query_one(sql)
    return int(row[0]) if row and row[0] is not None else 0


def _age_seconds(when: Any) -> float | None:
    return None if when is None else round((now_utc() - when).total_seconds(), 1)


def health(db: Database) -> dict[str, Any]:
    contracted = switch(db, "contracted")
    legacy = {table: _count(db, f"SELECT COUNT(*) FROM {legacy_source(db, table)}") for table in LEGACY_COLUMNS}
    newest_copy = db.query_one("SELECT MAX(copied_at) FROM silver.transactions")
    silver = {
        table: _count(db, f"SELECT COUNT(*) FROM silver.{table}")
        for table in ("stores", "brands", "categories", "products", "transactions", "transaction_items", "orphans")
    }
    sources = {}
    for source in gold.SOURCES:
        mark = gold.watermark(db, source)
        stale = gold.stale_days(db, source)
        sources[source] = {
            "watermark": mark["watermark"] if mark else None,
            "last_refresh": mark["refreshed_at"] if mark else None,
            "seconds_since_refresh": _age_seconds(mark["refreshed_at"]) if mark else None,
            "stale_days": len(stale["differing"]),
            "gaps": [d.isoformat() for d in stale["gaps"]],
        }
    verified = last_logged(db, "verify")
    contracted_at = last_logged(db, "contract") if contracted else None
    return {
        "contracted": contracted,
        "refresh_enabled": switch(db, "refresh"),
        "layers": {
            "legacy": {"rows": legacy, "kept_aside": contracted},
            "silver": {
                "rows": silver,
                "last_copy": newest_copy[0] if newest_copy else None,
                "seconds_since_copy": _age_seconds(newest_copy[0]) if newest_copy else None,
            },
            "gold": {"rows": _count(db, "SELECT COUNT(*) FROM gold.daily_sales"), "sources": sources},
        },
        # the copies kept aside may go (by a migration) 30 days after contract, itself a passing verify
        "drop_legacy_after": contracted_at["logged_at"] + dt.timedelta(days=DROP_AFTER_DAYS)
        if contracted_at and contracted_at["passed"] and verified and verified["passed"]
        else None,
        "last_verify": None
        if verified is None
        else {
            "at": verified["logged_at"],
            "passed": verified["passed"],
            "run_id": verified["run_id"],
            "orphans": verified["details"].get("orphans"),
        },
    }
