"""Every job run, from any trigger or the CLI, goes through ``run_job``: it is recorded in ``ops.job_runs``
and logged as one structured event that Application Insights can query (``customDimensions``).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from scout.config import Settings
from scout.db import Database, connect
from scout.monitoring.events import SUMMARY_FIGURES, emit

#: Structured event names the workbook and alerts query (declared in scout.monitoring.events).
EVENT_JOB_STARTED = "scout.job.started"
EVENT_JOB_FINISHED = "scout.job.finished"

TRIGGERS = ("cli", "http", "timer", "queue")


class JobFailed(RuntimeError):
    """A job ended in failure; ``run_id`` names its record in ops.job_runs."""

    def __init__(self, message: str, run_id: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.summary = summary or {}


@dataclass
class JobContext:
    db: Database
    settings: Settings
    run_id: str
    job: str
    trigger: str
    invocation_id: str = ""
    progress: Callable[[str], None] = lambda _msg: None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def applied_by(self) -> str:
        return f"{socket.gethostname()}/{self.invocation_id or self.run_id}"[:200]


def now_utc() -> datetime:
    """Naive UTC, as DATETIME2 columns hold it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _history_exists(db: Database) -> bool:
    try:
        return db.table_exists("ops", "job_runs")
    except Exception:
        return False


def log_event(name: str, **fields: Any) -> None:
    """One structured event (declared in scout.monitoring.events)."""
    emit(name, **fields)


#: Upserts with HOLDLOCK: on SQL Server the key (or the gap where it would be) stays locked until commit, so
#: two processes recording the same run at once queue up instead of one failing on the primary key.
#: A finished run is never reopened or finished again: the first finish recorded stands.
_RECORD_START = (
    "MERGE ops.job_runs WITH (HOLDLOCK) AS j "
    "USING (SELECT ? AS run_id, ? AS job, ? AS trigger_type, ? AS started_at, ? AS status) AS s "
    "ON j.run_id = s.run_id "
    "WHEN MATCHED AND j.finished_at IS NULL THEN UPDATE SET status = s.status, started_at = s.started_at "
    "WHEN NOT MATCHED THEN INSERT (run_id, job, trigger_type, started_at, status) "
    "VALUES (s.run_id, s.job, s.trigger_type, s.started_at, s.status);")
_RECORD_FINISH = (
    "MERGE ops.job_runs WITH (HOLDLOCK) AS j "
    "USING (SELECT ? AS run_id, ? AS job, ? AS trigger_type, ? AS started_at, ? AS finished_at, ? AS status, "
    "? AS summary, ? AS error) AS s "
    "ON j.run_id = s.run_id "
    "WHEN MATCHED AND j.finished_at IS NULL THEN UPDATE SET finished_at = s.finished_at, status = s.status, "
    "summary = s.summary, error = s.error "
    "WHEN NOT MATCHED THEN INSERT (run_id, job, trigger_type, started_at, finished_at, status, summary, error) "
    "VALUES (s.run_id, s.job, s.trigger_type, s.started_at, s.finished_at, s.status, s.summary, s.error);")


def record_start_in(db: Database, run_id: str, job: str, trigger: str, started: datetime,
                    status: str = "running") -> bool:
    """``record_start`` inside the caller's transaction (so it commits with the caller's own writes)."""
    if not _history_exists(db):
        return False
    db.execute(_RECORD_START, (run_id, job, trigger, started, status))
    return True


def record_start(db: Database, run_id: str, job: str, trigger: str, started: datetime, status: str = "running") -> bool:
    """Insert the run, or move a queued (or running) run to ``status``; a finished run stays finished.
    False when the history table does not exist yet."""
    return db.retry_transaction(lambda tx: record_start_in(tx, run_id, job, trigger, started, status),
                                what=f"recording the start of run {run_id}")


def record_finish_in(db: Database, run_id: str, job: str, trigger: str, started: datetime, status: str,
                     summary: dict[str, Any], error: str | None) -> bool:
    """``record_finish`` inside the caller's transaction (so it commits with the caller's own writes)."""
    if not _history_exists(db):
        return False
    summary_json = json.dumps(summary, default=str, sort_keys=True)
    return db.execute(_RECORD_FINISH, (run_id, job, trigger, started, now_utc(), status, summary_json, error)) == 1


def record_finish(db: Database, run_id: str, job: str, trigger: str, started: datetime, status: str,
                  summary: dict[str, Any], error: str | None) -> bool:
    """Record how the run ended (inserting it if its start was never recorded). Only the first finish counts:
    True when this call recorded it, False when the run had finished already (or there is no history)."""
    return db.retry_transaction(
        lambda tx: record_finish_in(tx, run_id, job, trigger, started, status, summary, error),
        what=f"recording the finish of run {run_id}")


def run_job(job: str, trigger: str, body: Callable[[JobContext], dict[str, Any]], *,
            settings: Settings | None = None, run_id: str | None = None, invocation_id: str = "",
            progress: Callable[[str], None] | None = None, db: Database | None = None) -> dict[str, Any]:
    """Run ``body`` as a recorded job; returns its summary (with ``run_id``) or raises JobFailed.

    The body's exceptions become a failed run with a readable reason; the database connection is
    opened here (unless given) and closed when the job ends.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    settings = settings or Settings.from_env()
    run_id = run_id or str(uuid.uuid4())
    started, t0 = now_utc(), time.perf_counter()
    own_db = db is None
    db = db or connect(settings)
    ctx = JobContext(db, settings, run_id, job, trigger, invocation_id, progress or (lambda _m: None))
    try:
        try:
            record_start(db, run_id, job, trigger, started)
        except Exception:  # noqa: BLE001 - the finish inserts the record when the start could not
            pass
        log_event(EVENT_JOB_STARTED, job=job, run_id=run_id, trigger=trigger)
        try:
            summary = body(ctx) or {}
        except Exception as exc:
            reason = safe_reason(exc)
            duration = round(time.perf_counter() - t0, 3)
            summary = {**ctx.summary, **getattr(exc, "summary", {})}
            try:
                db.rollback()
                record_finish(db, run_id, job, trigger, started, "failed", summary, reason)
            except Exception:
                pass  # the database may be the thing that failed; the log below still tells
            log_event(EVENT_JOB_FINISHED, job=job, run_id=run_id, trigger=trigger, outcome="failed",
                      duration_s=duration, error=reason, **_numbers(summary))
            raise JobFailed(reason, run_id, summary) from exc
        duration = round(time.perf_counter() - t0, 3)
        summary = {**ctx.summary, **summary}
        record_finish(db, run_id, job, trigger, started, "succeeded", summary, None)
        log_event(EVENT_JOB_FINISHED, job=job, run_id=run_id, trigger=trigger, outcome="succeeded",
                  duration_s=duration, **_numbers(summary))
        return {"run_id": run_id, **summary}
    finally:
        if own_db:
            db.close()


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    """The declared scalar figures of a summary (row counts, ...) that go into the finished event."""
    return {k: v for k, v in summary.items()
            if k in SUMMARY_FIGURES and isinstance(v, (int, float, str, bool)) and v is not None}


def safe_reason(exc: BaseException) -> str:
    """A one-line reason for a failure, never longer than a screen, never carrying a secret."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:1000]


def recent_runs(db: Database, job: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The latest job runs, newest first (for ``scout jobs`` and the portal's history)."""
    if not _history_exists(db):
        return []
    where, params = ("WHERE job = ?", (job,)) if job else ("", ())
    rows = db.query_dicts(
        f"SELECT TOP {int(limit)} run_id, job, trigger_type, started_at, finished_at, status, summary, error "
        f"FROM ops.job_runs {where} ORDER BY started_at DESC", params)
    for row in rows:
        row["summary"] = json.loads(row["summary"]) if row.get("summary") else {}
    return rows


def get_run(db: Database, run_id: str) -> dict[str, Any] | None:
    if not _history_exists(db):
        return None
    rows = db.query_dicts("SELECT run_id, job, trigger_type, started_at, finished_at, status, summary, error "
                          "FROM ops.job_runs WHERE run_id = ?", (run_id,))
    if not rows:
        return None
    row = rows[0]
    row["summary"] = json.loads(row["summary"]) if row.get("summary") else {}
    return row
