"""Errors every entry point maps the same way: CLI exit codes and HTTP statuses come from here."""

from __future__ import annotations


class InvalidInput(ValueError):
    """The caller's input is wrong (HTTP 400, CLI exit 2); the message says what to change."""


class NotFound(LookupError):
    """The thing asked for does not exist (HTTP 404, CLI exit 4)."""

    def __str__(self) -> str:  # LookupError quotes its argument; we want the plain sentence
        return str(self.args[0]) if self.args else "not found"


def first_line(exc: BaseException | str, default: str | None = None) -> str:
    """The first line of an error's text: what a CLI line, a JSON message or a run's reason shows.
    Empty text gives ``default`` (the exception's type name when not given)."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    return default if default is not None else type(exc).__name__


# CLI exit codes, documented in the README.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_NOT_FOUND = 0, 1, 2, 3, 4


def classify(exc: BaseException) -> tuple[int, int, str]:
    """(HTTP status, CLI exit code, kind) for an exception raised by job code."""
    from scout.config import ConfigError
    from scout.db.base import DatabaseError, LockTimeout

    # A job that found the input wrong only once it ran (a race the up-front checks cannot see) was
    # recorded as failed, but the caller still gets the input's answer: 400 / exit 2, with the run id.
    if isinstance(exc, InvalidInput) or isinstance(exc.__cause__, InvalidInput):
        return 400, EXIT_USAGE, "invalid_input"
    if isinstance(exc, ConfigError) or isinstance(exc.__cause__, ConfigError):  # the server's setup: not the caller's
        return 500, EXIT_USAGE, "configuration_error"
    if isinstance(exc, NotFound):
        return 404, EXIT_NOT_FOUND, "not_found"
    if isinstance(exc, LockTimeout) or isinstance(exc.__cause__, LockTimeout):
        return 409, EXIT_LOCKED, "locked"
    if isinstance(exc, DatabaseError):
        return 503, EXIT_FAILED, "database_error"
    if storage_outage(exc) is not None:  # goes away by itself: 503 with Retry-After (scout.functions.http)
        return 503, EXIT_FAILED, "storage_unavailable"
    return 500, EXIT_FAILED, "failed"


def storage_outage(exc: BaseException) -> BaseException | None:
    """The ``scout.storage.StorageUnavailable`` behind ``exc`` (itself or its cause), if any."""
    from scout.storage import StorageUnavailable

    return next((e for e in (exc, exc.__cause__) if isinstance(e, StorageUnavailable)), None)
