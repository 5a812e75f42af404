"""Shared bench set-up: a migrated DuckDB file with N demo transactions (cached per size and seed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))


def demo_database(transactions: int, seed: int = 42, *, infer: bool = True) -> Path:
    """Path of a DuckDB file with every migration applied, N demo transactions and (optionally) personas."""
    from scout.config import Settings
    from scout.db import connect
    from scout.demo.seed import seed_demo
    from scout.migrations import job
    from scout.personas.job import infer_in

    path = CACHE / f"demo-{transactions}-{seed}{'-scored' if infer else ''}.duckdb"
    if path.exists():  # cached data, current views: apply what changed since it was built
        job.apply(trigger="cli", settings=Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"}))
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for stale in (partial, Path(f"{partial}.wal")):
        stale.unlink(missing_ok=True)
    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{partial}"})
    job.apply(trigger="cli", settings=settings)
    with connect(settings) as db:
        seed_demo(db, transactions=transactions, seed=seed)
        if infer:
            infer_in(db, full=True)
        db.execute_native("CHECKPOINT")
    partial.rename(path)
    return path
