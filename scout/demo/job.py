"""The demo seed job (``scout demo seed``): fills empty source tables, never mixes two seeds."""

from __future__ import annotations

from typing import Any, Callable

from scout.config import Settings
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job


def seed(*, trigger: str, transactions: int = 12047, seed: int = 42, replace: bool = False,
         only_if_empty: bool = False, settings: Settings | None = None,
         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Recorded job ``demo.seed``. With ``only_if_empty`` an already filled database is left alone."""
    from scout.demo.seed import MAX_TRANSACTIONS, clear_sources, seed_demo, source_row_count

    if not isinstance(transactions, int) or not 1 <= transactions <= MAX_TRANSACTIONS:
        raise InvalidInput(f"transactions must be between 1 and {MAX_TRANSACTIONS:,}")

    def body(ctx: JobContext) -> dict[str, Any]:
        existing = source_row_count(ctx.db)
        if existing and only_if_empty:
            return {"skipped": True, "existing_transactions": existing}
        if existing and not replace:
            raise InvalidInput(f"the source tables already hold {existing:,} transactions: "
                               "use --replace to start over (never mixing two seeds)")
        if existing:
            with ctx.db.transaction():
                clear_sources(ctx.db)
        return {"skipped": False, **seed_demo(ctx.db, transactions=transactions, seed=seed, progress=ctx.progress)}

    return run_job("demo.seed", trigger, body, settings=settings, progress=progress)
