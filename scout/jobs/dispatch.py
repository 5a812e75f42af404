"""Long work behind HTTP: record a queued run, put it on the ``scout-jobs`` queue, answer 202 at once.

A queue-triggered function (``scout/functions/jobs.py``) picks the message up and calls the same job
function the CLI calls, with the run id made here; ``GET /api/jobs/{run_id}`` shows its state from
``ops.job_runs``. A redelivered message for a run that already finished does nothing.
"""

from __future__ import annotations

import importlib
import json
import uuid
from typing import Any, Callable

from scout.config import Settings
from scout.errors import InvalidInput

JOBS_QUEUE = "scout-jobs"

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


def submit(job: str, params: dict[str, Any], *, settings: Settings | None = None,
           status_url: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Record ``job`` as queued and enqueue it; returns ``{"run_id", "status", "status_url"}``."""
    from scout.db import connect
    from scout.jobs.runs import now_utc, record_start
    from scout.storage import queue_client

    handler(job)  # unknown jobs fail before anything is written
    settings = settings or Settings.from_env()
    run_id = str(uuid.uuid4())
    queue = queue_client(settings, JOBS_QUEUE)  # storage problems surface before a run is recorded
    with connect(settings) as db:
        record_start(db, run_id, job, "http", now_utc(), status="queued")
    queue.send_message(json.dumps({"job": job, "run_id": run_id, "params": params}))
    return {"run_id": run_id, "status": "queued", "status_url": status_url(run_id) if status_url else None}


def run_message(body: str, *, invocation_id: str = "", settings: Settings | None = None) -> dict[str, Any] | None:
    """Run one queued job message; None when its run already finished (a redelivery)."""
    from scout.db import connect
    from scout.jobs.runs import get_run

    try:
        message = json.loads(body)
        job, run_id, params = message["job"], message["run_id"], message.get("params") or {}
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("malformed job message") from None
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        run = get_run(db, run_id)
    if run is not None and run["status"] in ("succeeded", "failed"):
        return None
    return handler(job)(trigger="queue", run_id=run_id, invocation_id=invocation_id, settings=settings, **params)
