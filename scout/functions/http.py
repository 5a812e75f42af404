"""Helpers every HTTP trigger uses: JSON responses, strict JSON bodies, errors mapped to statuses."""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

import azure.functions as func

from scout.errors import InvalidInput, classify, first_line

log = logging.getLogger("scout.functions")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(status: int, kind: str, message: str, **extra: Any) -> func.HttpResponse:
    return json_response({"error": kind, "message": message, **extra}, status)


#: Largest request body read (every endpoint's input is a few short fields).
MAX_BODY_BYTES = 1_000_000
#: Deepest nesting of arrays and objects accepted (a scenario's segment is 2 deep).
MAX_JSON_DEPTH = 20


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"request body holds {name}: numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInput(f"request body holds the number {text[:20]}, beyond the range of a number")
    return value


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise InvalidInput(f"field {key[:40]} is given twice")
        body[key] = value
    return body


def _check_shape(value: Any) -> None:
    """Nesting no deeper than MAX_JSON_DEPTH, and text that is valid Unicode (JSON's ``\\ud800`` escapes
    decode to lone surrogates, which no database or log can store). Iterative: no recursion to exhaust."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput("request body holds text that is not valid Unicode") from None


def parse_json(raw: bytes | str) -> Any:
    """Strict JSON for request bodies: at most MAX_BODY_BYTES, finite numbers only (no NaN, Infinity, 1e999),
    no field given twice, nested at most MAX_JSON_DEPTH deep; anything else is InvalidInput (400).

    Python's json alone accepts NaN and Infinity and raises RecursionError on 100,000 nested ``[``.
    """
    if len(raw or b"") > MAX_BODY_BYTES:
        raise InvalidInput(f"request body is larger than {MAX_BODY_BYTES:,} bytes")
    try:
        body = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float, object_pairs_hook=_unique_fields)
    except RecursionError:
        raise InvalidInput(f"request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except InvalidInput:
        raise
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("request body is not valid JSON") from None
    _check_shape(body)
    return body


def json_object(req: func.HttpRequest) -> dict[str, Any]:
    """The request's body as a JSON object (see ``parse_json``); an empty body is ``{}`` (``null`` is not)."""
    raw = req.get_body()
    if not raw or (len(raw) <= MAX_BODY_BYTES and not raw.strip()):
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    return body


def json_body(req: func.HttpRequest, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The request's JSON object, with only ``fields`` allowed, each of its type; empty body = {}."""
    body = json_object(req)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        shown = ", ".join(u if len(u) <= 40 else u[:37] + "..." for u in unknown[:5])
        raise InvalidInput(f"unknown field(s): {shown}; allowed: {', '.join(sorted(fields))}")
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
    misconfigured, not the caller wrong (the message and ``settings`` name the setting); a missing embedded
    database file is one too (``scout.db.NoDatabase``: retrying cannot help, so not a 503). 503 with
    Retry-After: a transient database failure, or storage unavailable (``storage_unavailable``, the wait the
    ``StorageUnavailable`` asks for). Anything unexpected: 500, a generic message, details logged.
    """
    from scout.config import ConfigError

    message = first_line(exc, "")
    run_id = getattr(exc, "run_id", None)
    extra = {"run_id": run_id} if run_id else {}
    misconfigured = next((e for e in (exc, exc.__cause__) if isinstance(e, ConfigError)), None)
    if misconfigured is not None:
        reason = first_line(misconfigured, "ConfigError")
        log.error("server misconfiguration in %s: %s", where, reason)
        settings = _settings_named(reason)
        return error_response(
            500,
            "configuration_error",
            f"server misconfiguration: {reason}",
            **({"settings": settings} if settings else {}),
            **extra,
        )
    status, _, kind = classify(exc)
    message = message or kind
    if kind == "storage_unavailable":
        from scout.errors import storage_outage

        log.warning("storage unavailable in %s: %s", where, message)
        response = error_response(503, kind, message, **extra)
        response.headers["Retry-After"] = str(getattr(storage_outage(exc), "retry_after", RETRY_AFTER_SECONDS))
        return response
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
