"""The persona inference job: what `scout personas infer`, the HTTP trigger and the nightly timer call."""

from __future__ import annotations

import time
from typing import Any, Callable

from scout.config import Settings
from scout.db.base import Database
from scout.jobs.runs import JobContext, run_job
from scout.personas.compiler import compile_inference
from scout.personas.rules import load_rules, load_weights, rules_checksum


def infer_in(db: Database, *, full: bool = False, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Score every transaction not yet scored under the current rules (all of them with ``full``)."""
    rules = load_rules(db)
    weights = load_weights(db)
    checksum = rules_checksum(rules, weights)
    statement = compile_inference(rules, weights, checksum, full=full)
    started = time.perf_counter()
    with db.transaction():
        if full:
            db.execute("DELETE FROM ref.transaction_personas")
        else:
            db.execute("DELETE FROM ref.transaction_personas WHERE rules_checksum <> ?", (checksum,))
        before = db.query_one("SELECT COUNT(*) FROM ref.transaction_personas")[0]
        progress(f"scoring with {len(rules)} active rules ({'full' if full else 'incremental'})")
        db.execute(statement)
        after = db.query_one("SELECT COUNT(*) FROM ref.transaction_personas")[0]
    roles = dict(db.query("SELECT role, COUNT(*) FROM ref.transaction_personas GROUP BY role ORDER BY role"))
    progress(f"scored {after - before} transactions in {time.perf_counter() - started:.1f} s")
    return {"scored": int(after - before), "total": int(after), "roles": {k: int(v) for k, v in roles.items()},
            "rules_checksum": checksum, "active_rules": len(rules), "full": full}


def infer(*, trigger: str, full: bool = False, settings: Settings | None = None, invocation_id: str = "",
          run_id: str | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Recorded job ``personas.infer``."""
    def body(ctx: JobContext) -> dict[str, Any]:
        return infer_in(ctx.db, full=bool(full), progress=ctx.progress)

    return run_job("personas.infer", trigger, body, settings=settings, invocation_id=invocation_id, run_id=run_id,
                   progress=progress)
