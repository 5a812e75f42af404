"""Triggers of the Monte Carlo job: start a run (202), its status and chart, the batch queue workers,
and the nightly refresh of standing scenarios."""

from __future__ import annotations

import logging

import azure.functions as func

from scout.functions.http import http_handler, invocation_id, json_response
from scout.montecarlo import BATCH_QUEUE

bp = func.Blueprint()
log = logging.getLogger("scout.functions.montecarlo")


def _status_url(req: func.HttpRequest, run_id: str) -> str:
    return f"{req.url.split('/api/', 1)[0]}/api/montecarlo/runs/{run_id}"


def public_view(run: dict) -> dict:
    """A run as the API shows it: progress always, results once completed. A run whose heartbeat is older than
    SCOUT_RUN_LEASE_SECONDS shows ``abandoned``, with the last stage it reached and the reason as ``error``."""
    keys = (
        "run_id",
        "status",
        "percent",
        "stage",
        "error",
        "iterations",
        "horizon_days",
        "batches",
        "batches_done",
        "scenario",
        "created_at",
        "updated_at",
    )
    view = {k: run.get(k) for k in keys}
    view["results"] = run["results"] if run["status"] == "completed" else None
    return view


@bp.function_name("montecarlo_start")
@bp.route(route="montecarlo/runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def montecarlo_start(req: func.HttpRequest) -> func.HttpResponse:
    from scout.functions.http import json_object
    from scout.montecarlo.job import submit

    body = json_object(req)  # strict: no NaN/Infinity, no deep nesting, bounded size (400 otherwise)
    run = submit(body)
    url = _status_url(req, run["run_id"])
    return json_response(
        {"run_id": run["run_id"], "status": run["status"], "status_url": url}, 202, headers={"Location": url}
    )


@bp.function_name("montecarlo_status")
@bp.route(route="montecarlo/runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def montecarlo_status(req: func.HttpRequest) -> func.HttpResponse:
    from scout.montecarlo.job import show

    return json_response(public_view(show(req.route_params.get("run_id", ""))))


@bp.function_name("montecarlo_chart")
@bp.route(route="montecarlo/runs/{run_id}/chart.png", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def montecarlo_chart(req: func.HttpRequest) -> func.HttpResponse:
    from scout.montecarlo.chart import render_png
    from scout.montecarlo.job import show

    png = render_png(show(req.route_params.get("run_id", "")))
    return func.HttpResponse(png, status_code=200, mimetype="image/png")


@bp.function_name("montecarlo_batch")
@bp.queue_trigger(arg_name="msg", queue_name=BATCH_QUEUE, connection="AzureWebJobsStorage")
def montecarlo_batch(msg: func.QueueMessage) -> None:
    """One batch. An exception makes the host retry (so does a combine claimed by an earlier delivery of
    this message, until its lease ends); after maxDequeueCount it goes to the poison queue."""
    from scout.montecarlo.job import run_queued_batch

    run_queued_batch(msg.get_body().decode("utf-8"))


@bp.function_name("montecarlo_poison")
@bp.queue_trigger(arg_name="msg", queue_name=f"{BATCH_QUEUE}-poison", connection="AzureWebJobsStorage")
def montecarlo_poison(msg: func.QueueMessage) -> None:
    from scout.montecarlo.job import poisoned_batch

    poisoned_batch(msg.get_body().decode("utf-8"))


@bp.function_name("montecarlo_standing")
@bp.timer_trigger(schedule="%SCOUT_MONTECARLO_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def montecarlo_standing(timer: func.TimerRequest, context: func.Context) -> None:
    """Refresh the standing scenarios after the nightly export: each a normal run with its own id.

    Each scenario starts or fails on its own; the refresh is recorded as job ``montecarlo.standing``
    and fails (after the others started) when any scenario did not start, naming each with the reason.
    """
    from scout.montecarlo.standing import refresh

    refresh(trigger="timer", invocation_id=invocation_id(context))
