"""Every structured event the code logs, with its fields: the vocabulary of the workbook and the alerts.

Events are log lines ``<event> <json>`` whose record carries the event's name (``event``) and each field
by name as attributes. In Azure, OpenTelemetry (scout/monitoring/telemetry.py) sends them to Application
Insights as ``traces`` with those attributes as ``customDimensions``: the alerts and the workbook read
``customDimensions.<field>``. Locally they go wherever logging goes, and nothing is sent anywhere.
tests/test_telemetry.py checks that every event and field the KQL names is declared here, and ``emit``
refuses anything undeclared.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from scout.monitoring.telemetry import configure_telemetry

log = logging.getLogger("scout.events")

JOB_FIELDS = ("job", "run_id", "trigger")
#: Figures a job's summary may carry into its finished event (scalars only).
SUMMARY_FIGURES = (
    "applied_count",
    "pending",
    "scored",
    "total",
    "active_rules",
    "base_transactions",
    "export_rows",
    "unique_ids",
    "empty_ids",
    "streamed_rows",
    "passed",
    "transactions",
    "iterations",
    "batches",
    "horizon_days",
    "skipped",
    "full",
    "dry_run",
    "rules_checksum",
    "location",
    "seed",
    "seconds",
    "target",
    "version",
)

EVENTS: dict[str, tuple[str, ...]] = {
    "scout.job.started": JOB_FIELDS,
    "scout.job.finished": JOB_FIELDS + ("outcome", "duration_s", "error") + SUMMARY_FIGURES,
    # passed is false when the counts disagree or the export shrinks without allow_shrink (the alert fires)
    "scout.export.validated": (
        "run_id",
        "base_transactions",
        "export_rows",
        "unique_ids",
        "passed",
        "previous_export_rows",
        "allow_shrink",
    ),
    "scout.montecarlo.batch": ("run_id", "batch", "iterations", "duration_s"),
    "scout.montecarlo.run": ("run_id", "status", "iterations", "duration_s"),
}


class UndeclaredEvent(ValueError):
    """An event or field not in EVENTS: the portal's queries would never see it."""


def emit(name: str, **fields: Any) -> dict[str, Any]:
    """Log one structured event; returns the payload. Undeclared names are a programming error."""
    if name not in EVENTS:
        raise UndeclaredEvent(f"undeclared event {name}")
    unknown = sorted(set(fields) - set(EVENTS[name]))
    if unknown:
        raise UndeclaredEvent(f"{name}: undeclared field(s) {', '.join(unknown)}")
    payload = {"event": name, **fields}
    configure_telemetry()
    log.info("%s %s", name, json.dumps(payload, default=str, sort_keys=True), extra=dimensions(payload))
    return payload


def dimensions(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as log record attributes (OpenTelemetry: scalars only): None is left out, anything else
    not a bool, int, float or str is written as JSON text."""
    return {
        key: value if isinstance(value, (bool, int, float, str)) else json.dumps(value, default=str)
        for key, value in payload.items()
        if value is not None
    }
