"""A backfill killed by SIGKILL in the middle of its batches, then run again, ends exactly as a backfill that
was never interrupted: each batch commits with its checkpoint, and every insert skips what is there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from scout.config import Settings
from scout.db import connect
from scout.demo import legacy
from scout.medallion import job
from scout.migrations import job as migrations

TRANSACTIONS = 60_000
BATCH = 500  # 120 transaction batches: killed after a handful
KILL_AFTER = 6


def legacy_database(path: Path) -> Settings:
    settings = Settings.from_env({}, SCOUT_DATABASE_URL=f"duckdb:///{path}")
    migrations.apply(trigger="cli", settings=settings)
    legacy.seed_job(trigger="cli", transactions=TRANSACTIONS, seed=11, settings=settings)
    return settings


def contents(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as db:
        return {
            "stores": db.query("SELECT store_id, store_name, region, city, barangay FROM silver.stores ORDER BY 1"),
            "products": db.query(
                "SELECT product_id, product_name, brand, category, unit_price, brand_key, category_key "
                "FROM silver.products ORDER BY 1"
            ),
            "brands": db.query("SELECT * FROM silver.brands ORDER BY 1"),
            "categories": db.query("SELECT * FROM silver.categories ORDER BY 1"),
            "transactions": db.query(
                "SELECT transaction_id, store_id, transaction_ts FROM silver.transactions ORDER BY 1"
            ),
            "items": db.query("SELECT * FROM silver.transaction_items ORDER BY 1, 2"),
            "orphans": db.query(
                "SELECT source_table, source_id, reason, geography_id, organization_id, transaction_ts, quantity, "
                "peso_value FROM silver.orphans ORDER BY 2"
            ),
            "checkpoints": db.query(
                "SELECT entity, last_id, copied, orphans, completed_at IS NOT NULL FROM ops.medallion_checkpoints "
                "ORDER BY entity"
            ),
        }


def test_a_backfill_killed_by_sigkill_midway_and_run_again_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    killed = legacy_database(tmp_path / "killed.duckdb")
    env = {**os.environ, "SCOUT_DATABASE_URL": killed.database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "scout", "medallion", "backfill", "--batch-size", str(BATCH)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    seen = []
    assert process.stderr is not None
    for line in process.stderr:  # "3/120 transactions batches", one line per committed batch
        if "transactions batches" in line:
            seen.append(line)
            if len(seen) == KILL_AFTER:
                os.kill(process.pid, signal.SIGKILL)
                break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the backfill ended before it could be killed"

    half = contents(killed)
    done = {row[0]: row for row in half["checkpoints"]}["transactions"]
    assert KILL_AFTER * BATCH <= len(half["transactions"]) + len(half["orphans"]) < TRANSACTIONS
    assert done[2] == len(half["transactions"]) and done[3] == len(half["orphans"]) and done[4] is False

    job.backfill(trigger="cli", batch_size=BATCH, settings=killed)  # run again: resumes after the last batch
    uninterrupted = legacy_database(tmp_path / "uninterrupted.duckdb")
    job.backfill(trigger="cli", batch_size=BATCH, settings=uninterrupted)

    assert contents(killed) == contents(uninterrupted)
    assert job.verify(trigger="cli", settings=killed)["passed"] is True
