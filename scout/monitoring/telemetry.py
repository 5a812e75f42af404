"""OpenTelemetry to Application Insights, configured once per process, only where a connection string is set.

As the Azure Functions OpenTelemetry quickstart does it: host.json sets ``"telemetryMode": "OpenTelemetry"``
and the worker process runs ``configure_azure_monitor``. Its logging handler turns every attribute of a log
record (what ``extra=`` puts there) into a ``customDimensions`` entry, which the worker's built-in logging
forwarding drops. ``azure.monitor.opentelemetry`` is imported only here and only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set: locally and in tests nothing is imported or sent, and
function_app.py stays import-light (bench/cold_start.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
#: The logger whose records (and its children's: scout.events, ...) are exported with their attributes.
LOGGER_NAME = "scout"

_attempted = False  # one attempt per process, whatever happens
_configured = False
_lock = threading.Lock()


def configure_telemetry(environ: Mapping[str, str] | None = None) -> bool:
    """Send the ``scout`` loggers to Application Insights once per process; True when it is (now) configured.

    Telemetry never fails a job: a failure to configure is logged once and the process carries on."""
    global _attempted, _configured
    env: Mapping[str, str] = os.environ if environ is None else environ
    if _attempted or not env.get(CONNECTION_STRING):
        return _configured
    with _lock:
        if _attempted:
            return _configured
        _attempted = True
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor

            from scout.config import Settings
            from scout.secrets import azure_credential

            # local auth is off on the Application Insights resource: publish as the app's identity
            configure_azure_monitor(
                connection_string=env[CONNECTION_STRING],
                logger_name=LOGGER_NAME,
                credential=azure_credential(Settings.from_env(env)),
                enable_trace_based_sampling_for_logs=False,
            )  # events are never sampled
        except Exception as exc:  # telemetry is best effort: never fail a job over it
            logging.getLogger(__name__).warning("OpenTelemetry not configured: %s", exc)
            return False
        # the exporter now carries the scout loggers' records; passed on to the root logger too, the worker's
        # own forwarding would send each one a second time, as a trace without its dimensions
        logging.getLogger(LOGGER_NAME).propagate = False
        _configured = True
        return True
