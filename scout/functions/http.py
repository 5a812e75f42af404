"""Helpers every HTTP trigger uses: JSON responses, strict JSON bodies, errors mapped to statuses."""

from __future__ import annotations

import functools
import json
import logging
import re
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


#: Seconds a client is told to wait before retrying after a transient database failure.
RETRY_AFTER_SECONDS = 30


def _settings_named(message: str) -> list[str]:
    """The declared settings a configuration error names, in the order it names them."""
    from scout.config import SETTINGS_BY_NAME

    return list(dict.fromkeys(word for word in re.findall(r"\w+", message) if word in SETTINGS_BY_NAME))


def _retryable(exc: BaseException) -> bool:
    """A database failure that goes away by itself (or a job it made fail): the client may try again later."""
    from scout.db.base import TransactionConflict
    from scout.db.mssql_backend import TransientDatabaseError  # here, not at import: the module loads lazily

    return any(isinstance(e, (TransientDatabaseError, TransactionConflict)) for e in (exc, exc.__cause__))


def error_for(exc: BaseException, where: str = "") -> func.HttpResponse:
    """The JSON error an exception from job code answers: whose fault it is decides the status.

    400 bad input, 404 unknown, 409 lock held: the caller's. 500 configuration_error: the server is
    misconfigured, not the caller wrong (the message and ``settings`` name the setting). 503 with
    Retry-After: a transient database failure. Anything unexpected: 500, a generic message, details logged.
    """
    from scout.config import ConfigError

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    run_id = getattr(exc, "run_id", None)
    extra = {"run_id": run_id} if run_id else {}
    misconfigured = next((e for e in (exc, exc.__cause__) if isinstance(e, ConfigError)), None)
    if misconfigured is not None:
        reason = str(misconfigured).strip().splitlines()[0] if str(misconfigured).strip() else "ConfigError"
        log.error("server misconfiguration in %s: %s", where, reason)
        settings = _settings_named(reason)
        return error_response(500, "configuration_error", f"server misconfiguration: {reason}",
                              **({"settings": settings} if settings else {}), **extra)
    status, _, kind = classify(exc)
    message = message or kind
    if status >= 500 and _retryable(exc):
        log.warning("transient database failure in %s: %s", where, message)
        response = error_response(503, "database_unavailable", message, **extra)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if status >= 500 and run_id is None and kind == "failed":
        log.error("unhandled error in %s", where, exc_info=exc)
        message = "internal error (see the function's logs)"
    return error_response(status, kind, message, **extra)


def http_handler(fn: Callable[..., func.HttpResponse]) -> Callable[..., func.HttpResponse]:
    """Turn exceptions from job code into JSON errors (see ``error_for``), so nothing internal leaks."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            return error_for(exc, where=fn.__name__)
    return wrapper


def invocation_id(context: Any) -> str:
    return getattr(context, "invocation_id", "") or ""
