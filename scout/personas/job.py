"""The persona inference job: what `scout personas infer`, the HTTP trigger and the nightly timer call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scout.config import Settings
from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job
from scout.personas.compiler import compile_inference
from scout.personas.rules import load_calibration, load_rules, load_weights, rules_checksum

# Counted per role as Azure SQL's collation groups them, listed in code-point order (scout.db.collation):
# first per spelling (a dozen groups), then those few spellings per key, not every row's key.
ROLE_COUNTS = (
    "SELECT MIN(role COLLATE Latin1_General_100_BIN2) AS role, SUM(n) FROM "
    "(SELECT role COLLATE Latin1_General_100_BIN2 AS role, COUNT(*) AS n FROM ref.transaction_personas "
    "GROUP BY role COLLATE Latin1_General_100_BIN2) AS per_spelling "
    "GROUP BY UPPER(RTRIM(role)) ORDER BY MIN(role COLLATE Latin1_General_100_BIN2)"
)


def infer_in(db: Database, *, full: bool = False, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Score every transaction not yet scored under the current rules (all of them with ``full``)."""
    rules = load_rules(db)
    weights = load_weights(db)
    calibration = load_calibration(db)
    checksum = rules_checksum(rules, weights, calibration)
    statement = compile_inference(rules, weights, checksum, full=full, calibration=calibration)
    started = time.perf_counter()
    current = "SELECT COUNT(*) FROM ref.transaction_personas WHERE rules_checksum = ?"
    with db.transaction():
        before = 0 if full else int(db.query_value(current, (checksum,)))
        progress(f"scoring with {len(rules)} active rules ({'full' if full else 'incremental'})")
        db.execute(statement)
        scored = int(db.query_value(current, (checksum,))) - before
    roles = {k: int(v) for k, v in db.query(ROLE_COUNTS)}
    progress(f"scored {scored} transactions in {time.perf_counter() - started:.1f} s")
    return {
        "scored": scored,
        "total": sum(roles.values()),
        "roles": roles,
        "rules_checksum": checksum,
        "active_rules": len(rules),
        "full": full,
    }


def infer(
    *,
    trigger: str,
    full: bool = False,
    settings: Settings | None = None,
    invocation_id: str = "",
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recorded job ``personas.infer``; its one input is checked before the run is recorded."""
    if not isinstance(full, bool):
        raise InvalidInput(f"full must be true or false, got {type(full).__name__}")

    def body(ctx: JobContext) -> dict[str, Any]:
        return infer_in(ctx.db, full=bool(full), progress=ctx.progress)

    return run_job(
        "personas.infer",
        trigger,
        body,
        settings=settings,
        invocation_id=invocation_id,
        run_id=run_id,
        progress=progress,
    )
