"""The demo seed job (``scout demo seed``): fills empty source tables, never mixes two seeds, and only
ever writes into the embedded DuckDB database (checked on the URL, before connecting).

Everything the caller can get wrong is checked before the job is recorded and before anything is
deleted: the numbers, the database, and a filled database without ``replace``. Those are InvalidInput
(exit 2), never a failed run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scout.config import Settings
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job

ALREADY_FILLED = (
    "the source tables already hold {existing:,} transactions: use --replace to start over (never mixing two seeds)"
)


def seed(
    *,
    trigger: str,
    transactions: int = 12047,
    seed: int = 42,
    replace: bool = False,
    only_if_empty: bool = False,
    transcript_share: float = 0.4,
    observed_share: float = 0.25,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recorded job ``demo.seed``. With ``only_if_empty`` an already filled database is left alone, and a
    database other than the embedded one is skipped (``scout run`` against Azure SQL); without it, such a
    database is refused. Either way nothing connects to it. The database must exist and be migrated:
    a seed does not create it (``scout migrate apply`` does)."""
    from scout.db import connect, parse_database_url
    from scout.demo.seed import EMBEDDED_ONLY, check_seed_input, seed_demo, source_row_count

    settings = settings or Settings.from_env()
    scheme, server, _ = parse_database_url(settings.database_url)
    if scheme != "duckdb":
        if only_if_empty:
            return {"skipped": True, "reason": "demo data is seeded only into the embedded DuckDB database"}
        raise InvalidInput(EMBEDDED_ONLY.format(what=f"{scheme}://{server}"))
    check_seed_input(transactions, seed, transcript_share, observed_share)
    if not isinstance(replace, bool) or not isinstance(only_if_empty, bool):
        raise InvalidInput("replace and only_if_empty must be true or false")

    with connect(settings) as db:
        if not db.table_exists("dbo", "Transactions"):
            raise InvalidInput(f"{db.display_name} has no source tables: run scout migrate apply first")
        existing = source_row_count(db)
        if existing and not replace and not only_if_empty:
            raise InvalidInput(ALREADY_FILLED.format(existing=existing))

        def body(ctx: JobContext) -> dict[str, Any]:
            existing = source_row_count(ctx.db)  # again: another seed may have run since the check above
            if existing and only_if_empty:
                return {"skipped": True, "existing_transactions": existing}
            if existing and not replace:
                raise InvalidInput(ALREADY_FILLED.format(existing=existing))
            # whatever is left (the old seed, orphan rows, what was derived from them) goes in the same
            # transaction as the new rows arrive: a new seed may reuse ids, and never inherits anything
            return {
                "skipped": False,
                **seed_demo(
                    ctx.db,
                    transactions=transactions,
                    seed=seed,
                    replace=True,
                    transcript_share=transcript_share,
                    observed_share=observed_share,
                    progress=ctx.progress,
                ),
            }

        return run_job("demo.seed", trigger, body, settings=settings, progress=progress, db=db)
