"""The medallion steps as recorded jobs (``ops.job_runs``), each also written to ``ops.medallion_log``.

Input is checked before anything is recorded (InvalidInput: CLI exit 2, HTTP 400). A verify that does not
pass is a failed run (``scout.job.finished`` with ``outcome: failed``: the job-failed alert fires) whose
summary is the whole report; a contract refused because verify did not pass is a failed run too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scout.config import Settings
from scout.jobs.runs import JobContext, run_job
from scout.medallion import backfill as backfilling, contract as contracting, gold, health as healthcheck
from scout.medallion.store import log_step, require_medallion
from scout.medallion.verify import verify as verify_report

Progress = Callable[[str], None]
#: Backfill, contract and rollback change what the others read: one at a time. Refreshes: one at a time.
STEPS_LOCK = "scout-medallion"
REFRESH_LOCK = "scout-medallion-refresh"


class VerifyFailed(RuntimeError):
    """Verify did not pass: the run fails, with the report as its summary."""

    def __init__(self, report: dict[str, Any]) -> None:
        failed = [c["name"] for c in report["checks"] if not c["passed"]]
        super().__init__(f"medallion verify failed: {', '.join(failed)}")
        self.summary = report


def _logged(ctx: JobContext, step: str, passed: bool | None, details: dict[str, Any]) -> None:
    with ctx.db.transaction():
        log_step(ctx.db, step, ctx.run_id, passed, details)


def _run(
    job: str,
    trigger: str,
    body: Callable[[JobContext], dict[str, Any]],
    settings: Settings | None,
    progress: Progress | None,
    invocation_id: str = "",
    *,
    lock: str = "",
    refuse_contracted: str = "",
) -> dict[str, Any]:
    """Open the database, check it is ready (bad input, not a failed run), run ``body`` as a recorded job.
    With ``lock``, under that application lock (another run holding it: LockTimeout, exit 3, no run recorded),
    so two backfills, or a contract during a backfill, never overlap."""
    from contextlib import nullcontext

    from scout.db import connect
    from scout.errors import InvalidInput
    from scout.medallion.store import switch

    settings = settings or Settings.from_env()
    with connect(settings) as db:
        require_medallion(db)
        held = db.application_lock(lock, settings["SCOUT_LOCK_TIMEOUT_SECONDS"]) if lock else nullcontext()
        with held:
            if refuse_contracted and switch(db, "contracted"):
                raise InvalidInput(refuse_contracted)
            return run_job(job, trigger, body, settings=settings, progress=progress, db=db, invocation_id=invocation_id)


def backfill(
    *,
    trigger: str,
    batch_size: int = backfilling.DEFAULT_BATCH_SIZE,
    settings: Settings | None = None,
    progress: Progress | None = None,
    step: backfilling.Step | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    backfilling.check_batch_size(batch_size)

    def body(ctx: JobContext) -> dict[str, Any]:
        result = backfilling.backfill(
            ctx.db, batch_size=batch_size, progress=ctx.progress, step=step, stop_after=stop_after
        )
        _logged(ctx, "backfill", None, {k: v for k, v in result.items() if k != "checkpoints"})
        return result

    return _run(
        "medallion.backfill",
        trigger,
        body,
        settings,
        progress,
        lock=STEPS_LOCK,
        refuse_contracted="the legacy tables are contracted (views over silver): nothing left to backfill",
    )


def verify(
    *, trigger: str, settings: Settings | None = None, progress: Progress | None = None, invocation_id: str = ""
) -> dict[str, Any]:
    def body(ctx: JobContext) -> dict[str, Any]:
        ctx.progress("verifying: counts, orphans, a hash per key of every legacy column, foreign keys")
        report = verify_report(ctx.db)
        _logged(ctx, "verify", report["passed"], {"orphans": report["orphans"], "counts": report["counts"]})
        if not report["passed"]:
            raise VerifyFailed(report)
        return report

    return _run("medallion.verify", trigger, body, settings, progress, invocation_id)


def contract(*, trigger: str, settings: Settings | None = None, progress: Progress | None = None) -> dict[str, Any]:
    def body(ctx: JobContext) -> dict[str, Any]:
        try:
            result = contracting.contract(ctx.db, ctx.applied_by)
        except contracting.ContractRefused as exc:
            _logged(ctx, "contract", False, {"refused": str(exc)})
            raise
        _logged(ctx, "contract", True, result)
        return result

    return _run(
        "medallion.contract",
        trigger,
        body,
        settings,
        progress,
        lock=STEPS_LOCK,
        refuse_contracted="already contracted: the legacy names are views over silver",
    )


def rollback(
    *, trigger: str, full: bool = False, settings: Settings | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    from scout.errors import InvalidInput

    if not isinstance(full, bool):
        raise InvalidInput("full must be true or false")
    settings = settings or Settings.from_env()

    def body(ctx: JobContext) -> dict[str, Any]:
        if not full:
            result = contracting.rollback_quick(ctx.db, ctx.applied_by)
            _logged(ctx, "rollback", None, {"full": False, **result})
            return {"full": False, **result}
        _logged(ctx, "rollback", None, {"full": True})  # written before the log table itself is undone
        result = contracting.rollback_full(
            ctx.db,
            settings["SCOUT_MIGRATIONS_DIR"] or None,
            ctx.applied_by,
            settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
        )
        return {"full": True, **result}

    return _run("medallion.rollback", trigger, body, settings, progress, lock=STEPS_LOCK)


def refresh(
    *,
    trigger: str,
    lookback_days: int = gold.DEFAULT_LOOKBACK_DAYS,
    full: bool = False,
    enable: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
    invocation_id: str = "",
) -> dict[str, Any]:
    """``enable`` switches the refresh back on (a quick rollback switched it off) before refreshing."""
    from scout.errors import InvalidInput
    from scout.medallion.store import set_switch, switch

    gold.check_lookback(lookback_days)
    if not isinstance(full, bool) or not isinstance(enable, bool):
        raise InvalidInput("full and enable must be true or false")

    def body(ctx: JobContext) -> dict[str, Any]:
        if enable:
            with ctx.db.transaction():
                set_switch(ctx.db, "refresh", True, ctx.applied_by)
        if not switch(ctx.db, "refresh"):
            return {
                "skipped": True,
                "reason": "the refresh is switched off (scout medallion rollback): scout medallion refresh --enable",
            }
        result = gold.refresh(ctx.db, lookback_days=lookback_days, full=full, run_id=ctx.run_id, progress=ctx.progress)
        _logged(ctx, "refresh", None, result)
        return {"skipped": False, **result}

    return _run("medallion.refresh", trigger, body, settings, progress, invocation_id, lock=REFRESH_LOCK)


def health(*, settings: Settings | None = None) -> dict[str, Any]:
    """Read only: not a recorded run."""
    from scout.db import connect

    with connect(settings or Settings.from_env()) as db:
        require_medallion(db)
        return healthcheck.health(db)
