"""Triggers of the migration job: health, status, apply (HTTP) and the scheduled apply (timer)."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from scout import __version__
from scout.functions.http import http_handler, invocation_id, json_body, json_response

bp = func.Blueprint()
log = logging.getLogger("scout.functions.migrations")


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Version, whether the database answers, and how many migrations are pending. No secrets."""
    from scout.migrations import job

    body: dict[str, Any] = {"version": __version__, "database": {"reachable": False}, "pending_migrations": None}
    try:
        status = job.status()
        body["database"] = {"reachable": True}
        body["pending_migrations"] = len(status["pending"])
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        from scout.errors import classify

        body["database"] = {"reachable": False, "error": classify(exc)[2]}
    return json_response(body, 200 if body["database"]["reachable"] else 503)


@bp.function_name("migrations_status")
@bp.route(route="migrations", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def migrations_status(req: func.HttpRequest) -> func.HttpResponse:
    from scout.migrations import job

    return json_response(job.status())


@bp.function_name("migrations_apply")
@bp.route(route="migrations/apply", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@http_handler
def migrations_apply(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    from scout.migrations import job

    body = json_body(req, {"target": (str, int), "dry_run": bool})
    target = body.get("target")
    result = job.apply(
        trigger="http",
        target=None if target is None else str(target),
        dry_run=bool(body.get("dry_run", False)),
        invocation_id=invocation_id(context),
    )
    return json_response(result)


@bp.function_name("migrations_timer")
@bp.timer_trigger(schedule="%SCOUT_MIGRATIONS_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def migrations_timer(timer: func.TimerRequest, context: func.Context) -> None:
    """Apply pending migrations on schedule; a held lock means another run is doing it: not a failure."""
    from scout.errors import classify
    from scout.migrations import job

    try:
        job.apply(trigger="timer", invocation_id=invocation_id(context))
    except Exception as exc:  # noqa: BLE001
        if classify(exc)[2] == "locked":
            log.warning("migrations skipped: %s", exc)
            return
        raise
