"""Triggers of the persona registry and targeting: HTTP routes and the two timers.

The routes run their job in the request and answer its result: the legacy persona tables are small
(hundreds of rows) and a match of 100,000 new people takes seconds. Every mutating route needs the
function key (the app's default auth level).
"""

from __future__ import annotations

import azure.functions as func

from scout.functions.http import http_handler, invocation_id, json_body, json_response

bp = func.Blueprint()


@bp.function_name("registry_consolidate")
@bp.route(route="registry/personas/consolidate", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def registry_consolidate(req: func.HttpRequest) -> func.HttpResponse:
    """Carry both legacy persona tables into the registry (idempotent)."""
    from scout.registry.job import consolidate

    json_body(req, {})
    return json_response(consolidate(trigger="http"))


@bp.function_name("registry_compare")
@bp.route(route="registry/personas/compare", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def registry_compare(req: func.HttpRequest) -> func.HttpResponse:
    """Old against new (recorded in registry.compare_runs): 200 either way, ``passed`` says which."""
    from scout.registry.job import compare

    json_body(req, {})
    return json_response(compare(trigger="http"))


@bp.function_name("registry_sync")
@bp.route(route="registry/personas/sync", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def registry_sync(req: func.HttpRequest) -> func.HttpResponse:
    """One dual-write step on demand (the timer runs the same)."""
    from scout.registry.job import sync

    json_body(req, {})
    return json_response(sync(trigger="http"))


@bp.function_name("registry_sync_timer")
@bp.timer_trigger(schedule="%SCOUT_PERSONAS_SYNC_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def registry_sync_timer(timer: func.TimerRequest, context: func.Context) -> None:
    """Dual-write period: carry new and changed legacy persona rows into the registry, report the drift."""
    from scout.registry.job import sync

    sync(trigger="timer", invocation_id=invocation_id(context))


@bp.function_name("targeting_match")
@bp.route(route="targeting/match", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def targeting_match(req: func.HttpRequest) -> func.HttpResponse:
    """Match the people who have no target yet; body ``{"as_of": "2025-06-30T00:00:00"}`` (optional, UTC)."""
    from scout.targeting.job import match, parse_as_of

    body = json_body(req, {"as_of": str})
    return json_response(match(trigger="http", as_of=parse_as_of(body.get("as_of"))))


@bp.function_name("targeting_match_timer")
@bp.timer_trigger(schedule="%SCOUT_TARGETING_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def targeting_match_timer(timer: func.TimerRequest, context: func.Context) -> None:
    """New people matched to personas as they arrive."""
    from scout.targeting.job import match

    match(trigger="timer", invocation_id=invocation_id(context))


def _read(what: str, persona: str | None = None, top: int = 3) -> dict:
    from scout.config import Settings
    from scout.db import connect
    from scout.targeting import job

    with connect(Settings.from_env()) as db:
        if what == "recommendations":
            return job.recommend_in(db, persona=persona, top=top)
        return job.performance_in(db)


def _top(text: str | None) -> int:
    from scout.errors import InvalidInput
    from scout.targeting.job import check_top

    if text is None:
        return 3
    if not text.isdigit():
        raise InvalidInput("top must be a whole number from 1 to 100")
    return check_top(int(text))


@bp.function_name("targeting_recommendations")
@bp.route(route="targeting/recommendations", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def targeting_recommendations(req: func.HttpRequest) -> func.HttpResponse:
    """``?persona=<unique_id>&top=N``: strategies per persona by relevance (404 for an unknown persona)."""
    top = _top(req.params.get("top"))
    return json_response(_read("recommendations", persona=req.params.get("persona"), top=top))


@bp.function_name("targeting_performance")
@bp.route(route="targeting/performance", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@http_handler
def targeting_performance(req: func.HttpRequest) -> func.HttpResponse:
    """Campaign performance by persona."""
    return json_response(_read("performance"))
