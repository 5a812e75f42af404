"""Triggers of persona inference and the flat export: the nightly timer and the on-demand endpoints.

Long work answers 202 with a run id and a status URL; the ``scout-jobs`` queue worker runs it.
"""

from __future__ import annotations

import logging

import azure.functions as func

from scout.errors import NotFound
from scout.functions.http import http_handler, invocation_id, json_body, json_response
from scout.functions.jobs import accepted

bp = func.Blueprint()
log = logging.getLogger("scout.functions.exports")


@bp.function_name("personas_infer")
@bp.route(route="personas/infer", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def personas_infer(req: func.HttpRequest) -> func.HttpResponse:
    from scout.jobs.dispatch import submit

    body = json_body(req, {"full": bool})
    return accepted(req, submit("personas.infer", {"full": bool(body.get("full", False))}))


@bp.function_name("exports_flat")
@bp.route(route="exports/flat", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def exports_flat(req: func.HttpRequest) -> func.HttpResponse:
    from scout.exports.job import check_limit, parse_formats
    from scout.jobs.dispatch import submit

    body = json_body(req, {"limit": int, "format": (str, list), "full": bool, "allow_shrink": bool})
    params = {
        "limit": check_limit(body.get("limit")),
        "formats": list(parse_formats(body.get("format"))),
        "full": bool(body.get("full", False)),
        "allow_shrink": bool(body.get("allow_shrink", False)),
    }
    return accepted(req, submit("exports.flat", params))


@bp.function_name("exports_flat_latest")
@bp.route(route="exports/flat/latest", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def exports_flat_latest(req: func.HttpRequest) -> func.HttpResponse:
    from scout.exports.job import latest_manifest

    manifest = latest_manifest()
    if manifest is None:
        raise NotFound("no flat export has been published yet")
    return json_response(manifest)


@bp.function_name("exports_nightly")
@bp.timer_trigger(schedule="%SCOUT_EXPORT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def exports_nightly(timer: func.TimerRequest, context: func.Context) -> None:
    """Infer personas for what is new, then publish the flat export (each a recorded job)."""
    from scout.exports.job import export_flat
    from scout.personas.job import infer

    infer(trigger="timer", invocation_id=invocation_id(context))
    export_flat(trigger="timer", invocation_id=invocation_id(context))
