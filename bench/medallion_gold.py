"""Gold: one day of new rows refreshed incrementally vs a full recompute (goal >= 10x faster), and the Monte
Carlo segment history read from gold vs from raw transactions at 1,000,000 transactions (goal >= 5x faster,
same numbers).

Set-up: 1,000,000 demo transactions (dbo.*, 30 days) and the legacy history (376,212 transactions, backfilled
into silver), gold refreshed once. Each round adds the next day of ingestion (a copy of the last day's rows,
a day later), times the incremental refresh, then a full recompute. Medians.

    .venv/bin/python bench/medallion_gold.py [--transactions 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import demo_database  # noqa: E402

from scout.config import Settings  # noqa: E402
from scout.db import connect  # noqa: E402
from scout.demo.legacy import seed_legacy  # noqa: E402
from scout.medallion import backfill, gold  # noqa: E402
from scout.montecarlo.scenario import history_from_gold, history_from_raw, parse_scenario  # noqa: E402


def add_day(db, day: dt.date) -> int:
    """The rows of the day before ``day``, copied one day later under new ids (one day of ingestion)."""
    start, end = dt.datetime.combine(day - dt.timedelta(days=1), dt.time()), dt.datetime.combine(day, dt.time())
    suffix = f"-{day.isoformat()}"
    with db.transaction():
        db.execute(
            "INSERT INTO dbo.TransactionItems (canonical_tx_id, line_no, product_name, brand, category, quantity, "
            "unit_price) SELECT CONCAT(i.canonical_tx_id, ?), i.line_no, i.product_name, i.brand, i.category, "
            "i.quantity, i.unit_price FROM dbo.TransactionItems AS i JOIN dbo.Transactions AS t "
            "ON t.canonical_tx_id = i.canonical_tx_id WHERE t.txn_ts >= ? AND t.txn_ts < ?",
            (suffix, start, end),
        )
        return db.execute(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "SELECT CONCAT(canonical_tx_id, ?), store_id, DATEADD(day, 1, txn_ts), total_amount, total_items "
            "FROM dbo.Transactions WHERE txn_ts >= ? AND txn_ts < ?",
            (suffix, start, end),
        )


def timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = demo_database(args.transactions, infer=False)
    with tempfile.TemporaryDirectory(prefix="scout-bench-gold-") as folder:
        path = Path(folder) / "bench.duckdb"  # not gold.duckdb: a file is a catalog named after it
        shutil.copy(source, path)
        settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"})
        with connect(settings) as db:
            seed_legacy(db, seed=42)
            backfill.backfill(db)
            first, _ = timed(lambda: gold.refresh(db))
            print(f"first refresh (both sources, from empty): {first:.2f} s")
            newest = db.query_one("SELECT MAX(CAST(txn_ts AS DATE)) FROM dbo.Transactions")[0]
            incremental, full = [], []
            for round_no in range(1, args.rounds + 1):
                added = add_day(db, newest + dt.timedelta(days=round_no))
                seconds, result = timed(lambda: gold.refresh(db))
                days = result["sources"]["ingestion"]["days_refreshed"]
                incremental.append(seconds)
                seconds_full, _ = timed(lambda: gold.refresh(db, full=True))
                full.append(seconds_full)
                print(
                    f"round {round_no}: +{added:,} rows; incremental {seconds:.3f} s ({days} ingestion days), "
                    f"full recompute {seconds_full:.3f} s"
                )
            ratio = statistics.median(full) / statistics.median(incremental)
            print(
                f"gold refresh, median: incremental {statistics.median(incremental):.3f} s vs full "
                f"{statistics.median(full):.3f} s -> {ratio:.1f}x (goal >= 10x)"
            )
            print(f"Monte Carlo segment history at {args.transactions:,} transactions (+{args.rounds} days):")
            region = db.query_one("SELECT MIN(region) FROM dbo.Stores")[0]
            brand = db.query_one("SELECT MIN(brand) FROM dbo.TransactionItems")[0]
            for segment in ({}, {"region": region}, {"brand": brand}):
                scenario = parse_scenario({"segment": segment})
                raw_times, gold_times = [], []
                for _ in range(5):
                    t, raw = timed(lambda: history_from_raw(db, scenario))  # noqa: B023
                    raw_times.append(t)
                    t, from_gold = timed(lambda: history_from_gold(db, scenario))  # noqa: B023
                    gold_times.append(t)
                same = (
                    from_gold is not None
                    and (from_gold.daily_counts == raw.daily_counts).all()
                    and from_gold.transactions == raw.transactions
                    and all(
                        abs(getattr(from_gold, m) - getattr(raw, m)) <= 1e-12 * abs(getattr(raw, m))
                        for m in ("basket_mean", "basket_var", "units_mean", "units_var")
                    )
                )
                r, g = statistics.median(raw_times), statistics.median(gold_times)
                print(
                    f"  {segment or 'all'}: raw {r * 1000:.1f} ms, gold {g * 1000:.1f} ms -> {r / g:.1f}x "
                    f"(goal >= 5x), same numbers: {same}"
                )


if __name__ == "__main__":
    main()
