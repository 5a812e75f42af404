"""Generic job plumbing over HTTP and queues: the ``scout-jobs`` worker and ``GET /api/jobs/{run_id}``."""

from __future__ import annotations

import azure.functions as func

from scout.errors import NotFound
from scout.functions.http import http_handler, invocation_id, json_response
from scout.jobs.dispatch import JOBS_QUEUE

bp = func.Blueprint()


def status_url(req: func.HttpRequest, run_id: str) -> str:
    """Absolute URL of a run's status, on the host the caller used."""
    base = req.url.split("/api/", 1)[0]
    return f"{base}/api/jobs/{run_id}"


def accepted(req: func.HttpRequest, submitted: dict) -> func.HttpResponse:
    """202 Accepted with the run id, its status URL in the body and in Location."""
    url = status_url(req, submitted["run_id"])
    return json_response({**submitted, "status_url": url}, 202, headers={"Location": url})


@bp.function_name("job_status")
@bp.route(route="jobs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def job_status(req: func.HttpRequest) -> func.HttpResponse:
    """A run's record; ``abandoned`` (with its last stage) once its heartbeat is older than the lease."""
    from scout.config import Settings
    from scout.db import connect
    from scout.jobs.runs import get_run, lease_seconds_of

    run_id = req.route_params.get("run_id", "")
    settings = Settings.from_env()
    with connect(settings) as db:
        run = get_run(db, run_id, lease_seconds=lease_seconds_of(settings))
    if run is None:
        raise NotFound(f"no job run {run_id}")
    return json_response(run)


@bp.function_name("jobs_worker")
@bp.queue_trigger(arg_name="msg", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def jobs_worker(msg: func.QueueMessage, context: func.Context) -> None:
    """Run one queued job. A failure is recorded on the run; it is not re-raised, so the message is
    not retried into a second run (the job itself decides what is safe to repeat)."""
    import logging

    from scout.jobs.dispatch import run_message
    from scout.jobs.runs import JobFailed

    try:
        run_message(msg.get_body().decode("utf-8"), invocation_id=invocation_id(context))
    except JobFailed as exc:
        logging.getLogger("scout.functions.jobs").warning("job run %s failed: %s", exc.run_id, exc)
