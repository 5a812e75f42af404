"""Legacy → medallion backfill at the legacy scale (376,212 transactions): rows/s and peak memory per batch size.

Each batch size runs in a fresh process on its own copy of one seeded database (legacy tables filled, silver
empty), so its peak memory (ru_maxrss) is its own. The default batch size (4,000) stays below SQL Server's
5,000-lock escalation; the sweep shows what smaller batches cost.

    .venv/bin/python bench/medallion_backfill.py [--transactions 376212] [--sizes 500,1000,2000,4000,4999]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def seeded(folder: Path, transactions: int) -> Path:
    from scout.config import Settings
    from scout.db import connect
    from scout.demo.legacy import seed_legacy
    from scout.migrations import job

    path = folder / "base.duckdb"
    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"})
    job.apply(trigger="cli", settings=settings)
    with connect(settings) as db:
        seed_legacy(db, transactions=transactions, seed=42)
        db.checkpoint()
    return path


def one(path: str, batch_size: int) -> None:
    """Child: one backfill, then its figures as JSON on stdout."""
    from scout.config import Settings
    from scout.medallion import job

    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"})
    started = time.perf_counter()
    result = job.backfill(trigger="cli", batch_size=batch_size, settings=settings)
    seconds = time.perf_counter() - started
    rows = result["transactions"]["copied"] + result["transactions"]["orphans"]
    print(
        json.dumps(
            {
                "batch_size": batch_size,
                "batches": result["transactions"]["batches"],
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=376_212)
    parser.add_argument("--sizes", default="500,1000,2000,4000,4999")
    parser.add_argument("--one", nargs=2, metavar=("PATH", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]))
        return
    with tempfile.TemporaryDirectory(prefix="scout-bench-medallion-") as folder:
        base = seeded(Path(folder), args.transactions)
        print(f"legacy transactions: {args.transactions:,}")
        print(f"{'batch':>6} {'batches':>8} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
        for size in (int(s) for s in args.sizes.split(",")):
            copy = Path(folder) / f"run-{size}.duckdb"
            shutil.copy(base, copy)
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(copy), str(size)], capture_output=True, text=True, check=True
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{r['batch_size']:>6} {r['batches']:>8} {r['seconds']:>8} {r['rows_per_s']:>9,} {r['peak_mb']:>8}")
            copy.unlink()


if __name__ == "__main__":
    main()
