"""Triggers of the legacy → medallion steps that run unattended: verify (HTTP and a nightly timer), the gold
refresh (HTTP and a timer) and health. Backfill, contract and rollback are operator steps of the runbook
(``scout medallion ...``), never triggered over HTTP.

Verify and refresh take about a second at the legacy scale, so they answer synchronously. A verify that does
not pass is a failed run (the job-failed alert fires); the route still answers 200 with the report, whose
``passed`` is false: the request did what it was asked."""

from __future__ import annotations

from collections.abc import Callable

import azure.functions as func

from scout.functions.http import http_handler, invocation_id, json_body, json_response

bp = func.Blueprint()


@bp.function_name("medallion_verify")
@bp.route(route="medallion/verify", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def medallion_verify(req: func.HttpRequest) -> func.HttpResponse:
    from scout.jobs.runs import JobFailed
    from scout.medallion import job

    json_body(req, {})
    try:
        return json_response(job.verify(trigger="http"))
    except JobFailed as exc:
        if "checks" not in exc.summary:  # the job broke (database down, ...): not a verify result
            raise
        return json_response({**exc.summary, "run_id": exc.run_id, "error": str(exc)})


@bp.function_name("medallion_refresh")
@bp.route(route="medallion/refresh", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def medallion_refresh(req: func.HttpRequest) -> func.HttpResponse:
    from scout.medallion import gold, job

    body = json_body(req, {"lookback_days": int, "full": bool})
    lookback = body.get("lookback_days")
    return json_response(
        job.refresh(
            trigger="http",
            lookback_days=gold.DEFAULT_LOOKBACK_DAYS if lookback is None else lookback,
            full=bool(body.get("full", False)),
        )
    )


@bp.function_name("medallion_health")
@bp.route(route="medallion/health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def medallion_health(req: func.HttpRequest) -> func.HttpResponse:
    from scout.medallion import job

    return json_response(job.health())


def _unattended(step: str, run: Callable[[], object]) -> None:
    """A step a timer runs: medallion not set up yet is a skip (logged), and a failed run is recorded and
    alerted by the job already (a retry would only run it again)."""
    import logging

    from scout.jobs.runs import JobFailed
    from scout.medallion.store import MedallionNotReady

    log = logging.getLogger("scout.functions.medallion")
    try:
        run()
    except MedallionNotReady as exc:
        log.info("medallion %s skipped: %s", step, exc)
    except JobFailed as exc:
        log.warning("medallion %s failed (run %s): %s", step, exc.run_id, exc)


@bp.function_name("medallion_verify_nightly")
@bp.timer_trigger(
    schedule="%SCOUT_MEDALLION_VERIFY_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
def medallion_verify_nightly(timer: func.TimerRequest, context: func.Context) -> None:
    """Verify every night: a failure is a failed run of medallion.verify, which the job-failed alert reports."""
    from scout.medallion import job

    _unattended("verify", lambda: job.verify(trigger="timer", invocation_id=invocation_id(context)))


@bp.function_name("medallion_refresh_timer")
@bp.timer_trigger(
    schedule="%SCOUT_MEDALLION_REFRESH_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
def medallion_refresh_timer(timer: func.TimerRequest, context: func.Context) -> None:
    """Gold's incremental refresh; a no-op (recorded as skipped) while a rollback has switched it off."""
    from scout.medallion import job

    _unattended("refresh", lambda: job.refresh(trigger="timer", invocation_id=invocation_id(context)))
