"""Azure Storage clients for the jobs: the Function app's own storage account (AzureWebJobsStorage).

Locally (and in tests) that is a connection string, e.g. Azurite's; in Azure it is identity-based:
``AzureWebJobsStorage__blobServiceUri`` / ``__queueServiceUri`` with the managed identity, no keys.
The Azure SDKs are imported here, inside the functions, never at trigger import time.

The clients made here fail fast (``FAIL_FAST``): they are used while an HTTP caller waits, and the SDK's
own policy (three retries 15-30 s apart, 20 s to connect, 60 s to read) answered a storage outage after
77-90 s. With ours, a storage account that is down, unreachable or hanging raises ``StorageUnavailable``
within seconds; HTTP answers it with 503 and ``Retry-After``, and the caller retries later itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from scout.config import ConfigError, Settings
from scout.errors import first_line

log = logging.getLogger("scout.storage")

#: Seconds a caller is told to wait (``Retry-After``) before trying again after a storage outage.
RETRY_AFTER_SECONDS = 30

#: Client options of every storage client the request path uses: at most one retry, about a second
#: after the first failure (the SDK's ExponentialRetry waits initial_backoff + increment_base ** n,
#: give or take random_jitter_range), 2 s to connect and 4 s to wait for an answer. Worst cases: refused
#: at once, < 2 s; unreachable, about 5 s; connected but never answering, about 9 s. A queue message is
#: answered in milliseconds when storage is well, so a request slower than that is an outage here.
FAIL_FAST: dict[str, Any] = {
    "retry_total": 1,
    "initial_backoff": 0,
    "increment_base": 1,
    "random_jitter_range": 0.5,
    "connection_timeout": 2,
    "read_timeout": 4,
}


class StorageUnavailable(RuntimeError):
    """Azure Storage could not be reached, timed out or answered a server error (5xx, 408, 429) within
    ``FAIL_FAST``: an outage that goes away by itself, not the caller's fault. HTTP: 503 with
    ``Retry-After: retry_after``. ``sent``: how many messages of a ``send_all`` went out before it;
    ``run_id``: the run the caller recorded (and failed) before it, if any."""

    def __init__(self, message: str, *, sent: int = 0, run_id: str | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.run_id = run_id
        self.retry_after = RETRY_AFTER_SECONDS


def is_outage(exc: BaseException) -> bool:
    """An Azure SDK error that means storage is unavailable (as opposed to a request it refused)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):  # no connection, timeout, dropped
        return True
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        return status >= 500 or status in (408, 429)
    return False


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn an outage inside the block into ``StorageUnavailable("storage unavailable while <what>...")``.
    Anything else (a refused request, bad credentials) passes unchanged. The SDK's message (host, port,
    socket error) goes to the log, not to the caller."""
    try:
        yield
    except Exception as exc:
        if not is_outage(exc):
            raise
        detail = first_line(exc, "")
        log.warning("storage unavailable while %s: %s: %s", what, type(exc).__name__, detail[:500])
        raise StorageUnavailable(
            f"storage unavailable while {what} ({type(exc).__name__}); try again in {RETRY_AFTER_SECONDS} s"
        ) from exc


def send_all(queue: Any, messages: Iterable[str], *, what: str = "queueing the work") -> int:
    """Send ``messages`` in order on ``queue``; returns how many were sent (all of them).

    A storage outage raises ``StorageUnavailable`` with ``sent`` = how many went out before it; any other
    failure of a send (a message too large, a forbidden request) propagates unchanged. Either way the
    caller that recorded the work first must undo that record (see ``scout.jobs.dispatch.submit``):
    the messages already sent may still be delivered, and their worker must find the work ended.
    """
    sent = 0
    for message in messages:
        try:
            with storage_errors(what):
                queue.send_message(message)
        except StorageUnavailable as exc:
            exc.sent = sent
            raise
        sent += 1
    return sent


def queue_client(settings: Settings, queue_name: str, *, create: bool = True) -> Any:
    """A fail-fast QueueClient whose messages are Base64 text, as the Functions queue trigger expects.
    With ``create``, the queue is created if missing: StorageUnavailable when storage is down."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    from scout.secrets import azure_credential  # the process's shared credential: its tokens are cached

    options = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        **FAIL_FAST,
    }
    if settings["AzureWebJobsStorage"]:
        client = QueueClient.from_connection_string(settings["AzureWebJobsStorage"], queue_name, **options)
    elif settings["AzureWebJobsStorage__queueServiceUri"]:
        client = QueueClient(
            settings["AzureWebJobsStorage__queueServiceUri"],
            queue_name,
            credential=azure_credential(settings),
            **options,
        )
    else:
        raise ConfigError(
            "no queue storage configured: set AzureWebJobsStorage (local) or "
            "AzureWebJobsStorage__queueServiceUri (managed identity)"
        )
    if create:
        with storage_errors(f"creating queue {queue_name}"):
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
    return client


def blob_service_client(settings: Settings) -> Any:
    """A fail-fast BlobServiceClient (``FAIL_FAST``): for what a caller waits on, not for large uploads."""
    from azure.storage.blob import BlobServiceClient

    from scout.secrets import azure_credential

    if settings["AzureWebJobsStorage"]:
        return BlobServiceClient.from_connection_string(settings["AzureWebJobsStorage"], **FAIL_FAST)
    if settings["AzureWebJobsStorage__blobServiceUri"]:
        return BlobServiceClient(
            settings["AzureWebJobsStorage__blobServiceUri"], credential=azure_credential(settings), **FAIL_FAST
        )
    raise ConfigError(
        "no blob storage configured: set AzureWebJobsStorage (local) or "
        "AzureWebJobsStorage__blobServiceUri (managed identity)"
    )
