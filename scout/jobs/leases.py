"""Leases: a run that stopped showing signs of life is abandoned, whatever its record still says.

Every run beats while it works (``ops.job_runs.heartbeat_at``; a Monte Carlo run's ``updated_at``). A run
recorded as under way whose last sign of life is older than the lease (``SCOUT_RUN_LEASE_SECONDS``) had its
process die: it is reported ``abandoned``, with the last stage it reached, never ``running``. The status is
computed on read (pure functions here), so no process has to be alive to notice a dead one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

#: Statuses that claim work is under way: only these can turn out abandoned.
UNDER_WAY = ("queued", "running", "processing", "combining")
ABANDONED = "abandoned"
#: Columns that may hold a run's last sign of life (whichever its table has); the latest one counts.
_SIGNS_OF_LIFE = ("heartbeat_at", "updated_at", "started_at", "created_at")


def lease_of(seconds: float | timedelta) -> timedelta:
    return seconds if isinstance(seconds, timedelta) else timedelta(seconds=float(seconds))


def last_sign_of_life(row: Mapping[str, Any]) -> datetime | None:
    """When the run last showed it was alive: its latest heartbeat, update or (re)start."""
    times = [row[k] for k in _SIGNS_OF_LIFE if row.get(k) is not None]
    return max(times) if times else None


def is_abandoned(row: Mapping[str, Any], now: datetime, lease: float | timedelta) -> bool:
    last = last_sign_of_life(row)
    return row.get("status") in UNDER_WAY and last is not None and now - last > lease_of(lease)


def effective_status(row: Mapping[str, Any], now: datetime, lease: float | timedelta) -> str:
    """The status to report: the recorded one, or ``abandoned`` for a run under way that stopped beating."""
    return ABANDONED if is_abandoned(row, now, lease) else row["status"]


def mark_abandoned(row: dict[str, Any], now: datetime, lease: float | timedelta) -> dict[str, Any]:
    """The row as reported: for a run under way that stopped beating, ``status`` becomes ``abandoned`` and
    ``error`` (unless it has one) says since when and the last stage it reached."""
    if is_abandoned(row, now, lease):
        row["status"], row["error"] = ABANDONED, row.get("error") or abandonment_reason(row, lease)
    return row


def abandonment_reason(row: Mapping[str, Any], lease: float | timedelta) -> str:
    """One line saying since when the run is silent and the last stage it reached."""
    last = last_sign_of_life(row)
    since = f"{last:%Y-%m-%d %H:%M:%S} UTC" if last is not None else "its start"
    stage = (row.get("stage") or "").strip() or "none recorded"
    return f"abandoned: no heartbeat since {since} (lease {lease_of(lease).total_seconds():g} s); last stage: {stage}"


def beat_interval(lease: float | timedelta) -> float:
    """Seconds between heartbeats: five beats per lease, so one slow beat never makes a live run look dead."""
    return max(lease_of(lease).total_seconds() / 5, 0.05)
