"""Helpers every HTTP trigger uses: JSON responses, strict JSON bodies, errors mapped to statuses."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

import azure.functions as func

from scout.errors import InvalidInput, classify

log = logging.getLogger("scout.functions")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, mimetype="application/json",
                             headers=headers)


def error_response(status: int, kind: str, message: str, **extra: Any) -> func.HttpResponse:
    return json_response({"error": kind, "message": message, **extra}, status)


def json_body(req: func.HttpRequest, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The request's JSON object, with only ``fields`` allowed, each of its type; empty body = {}."""
    raw = req.get_body()
    if not raw or not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}")
    for name, kind in fields.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise InvalidInput(f"field {name} has the wrong type")
        if not isinstance(value, kind):
            expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise InvalidInput(f"field {name} must be {expected}")
    return body


def http_handler(fn: Callable[..., func.HttpResponse]) -> Callable[..., func.HttpResponse]:
    """Turn exceptions from job code into JSON errors: 400 bad input, 404, 409 lock held, 5xx failures.

    Unexpected errors answer with a generic message (details go to the log), so nothing internal leaks.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            status, _, kind = classify(exc)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else kind
            run_id = getattr(exc, "run_id", None)
            if status >= 500 and run_id is None and kind == "failed":
                log.exception("unhandled error in %s", fn.__name__)
                message = "internal error (see the function's logs)"
            extra = {"run_id": run_id} if run_id else {}
            return error_response(status, kind, message, **extra)
    return wrapper


def invocation_id(context: Any) -> str:
    return getattr(context, "invocation_id", "") or ""
