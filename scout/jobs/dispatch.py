"""Long work behind HTTP: record a queued run, put it on the ``scout-jobs`` queue, answer 202 at once.

A queue-triggered function (``scout/functions/jobs.py``) picks the message up and calls the same job
function the CLI calls, with the run id made here; ``GET /api/jobs/{run_id}`` shows its state from
``ops.job_runs``. A delivery claims its run (``queued`` -> ``running``) before running it, so a message
delivered twice, or for a run that finished or failed meanwhile, does nothing.
"""

from __future__ import annotations

import importlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from scout.config import Settings
from scout.errors import InvalidInput

JOBS_QUEUE = "scout-jobs"
log = logging.getLogger("scout.jobs.dispatch")

#: Job name -> "module:function". Each function takes keyword arguments ``trigger``, ``run_id``,
#: ``invocation_id``, ``settings`` and the job's own parameters, and runs through ``run_job``.
HANDLERS: dict[str, str] = {
    "migrations.apply": "scout.migrations.job:apply",
    "personas.infer": "scout.personas.job:infer",
    "exports.flat": "scout.exports.job:export_flat",
}


def handler(job: str) -> Callable[..., dict[str, Any]]:
    if job not in HANDLERS:
        raise InvalidInput(f"unknown job {job!r}")
    module, _, name = HANDLERS[job].partition(":")
    return getattr(importlib.import_module(module), name)


#: The run of a message that could not be sent fails, but only while it is still queued: a worker that
#: has started it received the message after all (storage took it, its answer was lost), so that run is real.
FAIL_UNSENT = (
    "UPDATE ops.job_runs SET status = 'failed', finished_at = ?, error = ? "
    "WHERE run_id = ? AND status = 'queued' AND finished_at IS NULL"
)


def submit(
    job: str,
    params: dict[str, Any],
    *,
    settings: Settings | None = None,
    status_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Record ``job`` as queued and enqueue it; returns ``{"run_id", "status", "status_url"}``.

    The record and the message cannot share a transaction, so the order and the undo make them one:

    1. the queue client is made (the queue created if missing): storage down -> ``StorageUnavailable``
       (HTTP 503 + Retry-After) before anything is recorded;
    2. the run is recorded ``queued`` (the database down: its own error, nothing sent);
    3. the message is sent; if that fails, this same call records the run ``failed`` ("could not
       enqueue: ...") before raising -- ``StorageUnavailable`` for an outage, ``JobFailed`` otherwise,
       both naming the run. No record is left claiming work that no worker will do.

    Record first, then send: a message sent for a run that could not then be recorded would run work
    whose caller was told it failed (and who then submits it again). A send that failed although storage
    took the message (its answer lost) is harmless: the worker skips a failed run; and if a worker has
    already started it, the run is real, so it is left alone and the caller gets it as submitted.

    Not an outbox: a table of unsent messages that a worker or the status endpoint drains would need a
    migration, a drainer and its schedule, to cover one case this design leaves open -- the process
    dying in the milliseconds between 2 and 3. That run stays ``queued`` with no message, and its lease
    (``SCOUT_RUN_LEASE_SECONDS``, scout.jobs.leases) reports it ``abandoned`` and fails it, as for any
    run whose process died.
    """
    from scout.db import connect
    from scout.jobs.runs import JobFailed, now_utc, record_start, safe_reason
    from scout.storage import StorageUnavailable, queue_client, send_all

    handler(job)  # unknown jobs fail before anything is written
    settings = settings or Settings.from_env()
    run_id = str(uuid.uuid4())
    queue = queue_client(settings, JOBS_QUEUE)  # storage problems surface before a run is recorded
    message = json.dumps({"job": job, "run_id": run_id, "params": params})
    with connect(settings) as db:
        record_start(db, run_id, job, "http", now_utc(), status="queued")
        try:
            send_all(queue, [message], what=f"queueing job {job}")
        except Exception as exc:
            status = _fail_unsent(db, run_id, exc)
            if status not in (None, "failed"):  # a worker has it: the message went out after all
                return _submitted(run_id, status, status_url)
            if isinstance(exc, StorageUnavailable):
                exc.run_id = run_id
                raise
            raise JobFailed(f"could not enqueue job {job}: {safe_reason(exc)}", run_id) from exc
    return _submitted(run_id, "queued", status_url)


def _submitted(run_id: str, status: str, status_url: Callable[[str], str] | None) -> dict[str, Any]:
    return {"run_id": run_id, "status": status, "status_url": status_url(run_id) if status_url else None}


def _fail_unsent(db: Any, run_id: str, exc: BaseException) -> str | None:
    """Record the run whose message could not be sent as failed, if it is still queued; returns the
    run's status after that (None when it cannot be known: the database failed too -- the run then
    stays ``queued`` until its lease is over, and is reported ``abandoned``)."""
    from scout.jobs.runs import get_run, now_utc, safe_reason

    reason = f"could not enqueue: {safe_reason(exc)}"
    try:
        db.retry_transaction(
            lambda tx: tx.execute(FAIL_UNSENT, (now_utc(), reason, run_id)), what=f"failing unsent run {run_id}"
        )
        run = get_run(db, run_id)
        return run["status"] if run else None
    except Exception as db_exc:  # noqa: BLE001 - the send's failure is the one to report
        log.warning("could not record unsent run %s as failed: %s", run_id, safe_reason(db_exc))
        return None


#: A delivery takes its run from ``queued`` to ``running``. Conditional, like FAIL_UNSENT: of a delivery and
#: a submit whose send seemed to fail, exactly one moves the run on, and two deliveries of one message
#: (the queue's at-least-once, a send retried after a lost answer) never both run it.
CLAIM = "UPDATE ops.job_runs SET status = 'running' WHERE run_id = ? AND status = 'queued' AND finished_at IS NULL"


def run_message(body: str, *, invocation_id: str = "", settings: Settings | None = None) -> dict[str, Any] | None:
    """Run one queued job message; None when its run is not this delivery's to run: it finished (a
    redelivery), it failed because its message seemed unsent, or another delivery is running it. A run
    reported ``abandoned`` (its worker died: scout.jobs.leases) is taken over."""
    from scout.db import connect
    from scout.jobs.runs import get_run

    try:
        message = json.loads(body)
        job, run_id, params = message["job"], message["run_id"], message.get("params") or {}
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("malformed job message") from None
    run_job_named = handler(job)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        if db.table_exists("ops", "job_runs"):  # not before the first migrations (a queued migrations.apply)
            claimed = db.retry_transaction(lambda tx: tx.execute(CLAIM, (run_id,)) == 1, what=f"claiming run {run_id}")
            run = None if claimed else get_run(db, run_id)
            if run is not None and run["status"] != "abandoned":
                return None
    return run_job_named(trigger="queue", run_id=run_id, invocation_id=invocation_id, settings=settings, **params)
