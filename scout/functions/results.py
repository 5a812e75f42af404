"""/api/v3/data-driven-results/...: the endpoints the React dashboard already calls (every 3 s)."""

from __future__ import annotations

import azure.functions as func

from scout.functions.http import error_response, http_handler, json_response

bp = func.Blueprint()
PREFIX = "v3/data-driven-results"


@bp.function_name("results_generate")
@bp.route(route=PREFIX + "/generate/{session_id}/{topic}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def results_generate(req: func.HttpRequest) -> func.HttpResponse:
    """202 with the session's status, once the topic is analysed (factors, patterns, rich content) and its
    run started; 409 ``{"error": "conflict", "run_id", "topic"}`` when another generate of the session, at
    the same time, won (see scout.results.sessions.generate)."""
    from scout.results.sessions import GenerationConflict, generate

    try:
        state = generate(req.route_params.get("session_id", ""), req.route_params.get("topic", ""))
    except GenerationConflict as lost:
        return error_response(
            409, "conflict", str(lost), session_id=lost.session_id, run_id=lost.run_id, topic=lost.topic
        )
    url = f"{req.url.split('/api/', 1)[0]}/api/{PREFIX}/status/{state['session_id']}"
    return json_response({**state, "status_url": url}, 202, headers={"Location": url})


@bp.function_name("results_status")
@bp.route(route=PREFIX + "/status/{session_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def results_status(req: func.HttpRequest) -> func.HttpResponse:
    from scout.results.sessions import status

    return json_response(status(req.route_params.get("session_id", "")))


@bp.function_name("results_segment")
@bp.route(route=PREFIX + "/segment/{session_id}/{segment}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def results_segment(req: func.HttpRequest) -> func.HttpResponse:
    from scout.results.sessions import segment

    return json_response(segment(req.route_params.get("session_id", ""), req.route_params.get("segment", "")))


@bp.function_name("results_complete")
@bp.route(route=PREFIX + "/complete/{session_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def results_complete(req: func.HttpRequest) -> func.HttpResponse:
    from scout.results.sessions import complete

    return json_response(complete(req.route_params.get("session_id", "")))


@bp.function_name("results_clear")
@bp.route(route=PREFIX + "/clear/{session_id}", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def results_clear(req: func.HttpRequest) -> func.HttpResponse:
    from scout.results.sessions import clear

    return json_response(clear(req.route_params.get("session_id", "")))
