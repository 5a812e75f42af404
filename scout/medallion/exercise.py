"""``scout sql render``'s run of the legacy → medallion steps on its scratch database (``exercise``): a small
legacy seed (DuckDB only: not recorded), the backfill in several batches, verify, the gold refresh
(incremental and full), contract and verify through the views, health, the quick rollback, the refresh
switched back on, and a Monte Carlo segment history read from gold. The full rollback's statements are the
U files of the migrations (rendered with them) and the ledger's; it is not run, so later exercises still find
the medallion tables."""

from __future__ import annotations

from typing import Any

from scout.config import Settings

LEGACY_TRANSACTIONS = 2000
BATCH_SIZE = 500  # four transaction batches
SEED = 7


def exercise(settings: Settings, recorder: Any) -> None:
    from scout.db import connect
    from scout.db.duckdb_backend import DuckDBDatabase
    from scout.demo import legacy
    from scout.medallion import job
    from scout.montecarlo.scenario import parse_scenario, segment_history

    with recorder.paused():  # render makes DuckDB answer as Azure SQL; the legacy seed runs on DuckDB only
        shown_as = DuckDBDatabase.dialect
        DuckDBDatabase.dialect = "duckdb"
        try:
            legacy.seed_job(trigger="cli", transactions=LEGACY_TRANSACTIONS, seed=SEED, settings=settings)
        finally:
            DuckDBDatabase.dialect = shown_as
    job.backfill(trigger="cli", batch_size=BATCH_SIZE, settings=settings)
    job.verify(trigger="cli", settings=settings)
    job.refresh(trigger="cli", settings=settings)
    job.refresh(trigger="cli", full=True, settings=settings)
    job.contract(trigger="cli", settings=settings)
    job.verify(trigger="cli", settings=settings)
    job.health(settings=settings)
    job.rollback(trigger="cli", settings=settings)
    job.refresh(trigger="cli", enable=True, settings=settings)
    with connect(settings) as db:
        with recorder.paused():
            row = db.query_one("SELECT MIN(brand) FROM dbo.TransactionItems")
        segment_history(db, parse_scenario({"segment": {"brand": str(row[0]) if row else "none"}}))
