"""Every job run, from any trigger or the CLI, goes through ``run_job``: it is recorded in ``ops.job_runs``
and logged as one structured event that Application Insights can query (``customDimensions``).

While the job works, a heartbeat (its own thread and connection) keeps its ``heartbeat_at`` fresh and
records the last progress message as ``stage`` (``ops.job_run_heartbeats``), so a run whose process died
is reported ``abandoned`` once its lease (``SCOUT_RUN_LEASE_SECONDS``) is over (``scout.jobs.leases``), and
the next run of the same job records it as failed with that stage.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scout.config import Settings
from scout.db import Database, connect
from scout.errors import InvalidInput, first_line
from scout.jobs.leases import abandonment_reason, beat_interval, is_abandoned, lease_of, mark_abandoned
from scout.monitoring.events import SUMMARY_FIGURES, emit

log = logging.getLogger("scout.jobs")

#: Structured event names the workbook and alerts query (declared in scout.monitoring.events).
EVENT_JOB_STARTED = "scout.job.started"
EVENT_JOB_FINISHED = "scout.job.finished"

TRIGGERS = ("cli", "http", "timer", "queue")
#: How many runs ``scout jobs list`` may ask for at once.
MAX_LIMIT = 1000


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
    return datetime.now(UTC).replace(tzinfo=None)


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
    "VALUES (s.run_id, s.job, s.trigger_type, s.started_at, s.status);"
)
_RECORD_FINISH = (
    "MERGE ops.job_runs WITH (HOLDLOCK) AS j "
    "USING (SELECT ? AS run_id, ? AS job, ? AS trigger_type, ? AS started_at, ? AS finished_at, ? AS status, "
    "? AS summary, ? AS error) AS s "
    "ON j.run_id = s.run_id "
    "WHEN MATCHED AND j.finished_at IS NULL THEN UPDATE SET finished_at = s.finished_at, status = s.status, "
    "summary = s.summary, error = s.error "
    "WHEN NOT MATCHED THEN INSERT (run_id, job, trigger_type, started_at, finished_at, status, summary, error) "
    "VALUES (s.run_id, s.job, s.trigger_type, s.started_at, s.finished_at, s.status, s.summary, s.error);"
)


def record_start_in(
    db: Database, run_id: str, job: str, trigger: str, started: datetime, status: str = "running"
) -> bool:
    """``record_start`` inside the caller's transaction (so it commits with the caller's own writes)."""
    if not _history_exists(db):
        return False
    db.execute(_RECORD_START, (run_id, job, trigger, started, status))
    return True


def record_start(db: Database, run_id: str, job: str, trigger: str, started: datetime, status: str = "running") -> bool:
    """Insert the run, or move a queued (or running) run to ``status``; a finished run stays finished.
    False when the history table does not exist yet."""
    return db.retry_transaction(
        lambda tx: record_start_in(tx, run_id, job, trigger, started, status),
        what=f"recording the start of run {run_id}",
    )


def record_finish_in(
    db: Database,
    run_id: str,
    job: str,
    trigger: str,
    started: datetime,
    status: str,
    summary: dict[str, Any],
    error: str | None,
) -> bool:
    """``record_finish`` inside the caller's transaction (so it commits with the caller's own writes)."""
    if not _history_exists(db):
        return False
    summary_json = json.dumps(summary, default=str, sort_keys=True)
    return db.execute(_RECORD_FINISH, (run_id, job, trigger, started, now_utc(), status, summary_json, error)) == 1


def record_finish(
    db: Database,
    run_id: str,
    job: str,
    trigger: str,
    started: datetime,
    status: str,
    summary: dict[str, Any],
    error: str | None,
) -> bool:
    """Record how the run ended (inserting it if its start was never recorded). Only the first finish counts:
    True when this call recorded it, False when the run had finished already (or there is no history)."""
    return db.retry_transaction(
        lambda tx: record_finish_in(tx, run_id, job, trigger, started, status, summary, error),
        what=f"recording the finish of run {run_id}",
    )


# -- leases ----------------------------------------------------------------------------------------------

#: A beat: the run's row in ops.job_run_heartbeats, made or moved on (the stage kept when none is given).
_BEAT = (
    "MERGE ops.job_run_heartbeats WITH (HOLDLOCK) AS h "
    "USING (SELECT ? AS run_id, ? AS heartbeat_at, ? AS stage) AS s ON h.run_id = s.run_id "
    "WHEN MATCHED THEN UPDATE SET heartbeat_at = s.heartbeat_at, stage = COALESCE(s.stage, h.stage) "
    "WHEN NOT MATCHED THEN INSERT (run_id, heartbeat_at, stage) VALUES (s.run_id, s.heartbeat_at, s.stage);"
)
_SELECT_SILENT = (
    "SELECT j.run_id, j.job, j.trigger_type, j.started_at, j.status, h.heartbeat_at, h.stage "
    "FROM ops.job_runs j LEFT JOIN ops.job_run_heartbeats h ON h.run_id = j.run_id "
    "WHERE j.job = ? AND j.finished_at IS NULL AND j.run_id <> ? AND j.started_at < ?"
)
#: Conditional on the run still being silent, so a run that beat again in the meantime is left alone.
_FAIL_SILENT = (
    "UPDATE ops.job_runs SET status = 'failed', finished_at = ?, error = ? "
    "WHERE run_id = ? AND finished_at IS NULL AND started_at < ? "
    "AND NOT EXISTS (SELECT 1 FROM ops.job_run_heartbeats h WHERE h.run_id = ? AND h.heartbeat_at >= ?)"
)


def lease_seconds_of(settings: Settings | None) -> float:
    return float((settings or Settings.from_env())["SCOUT_RUN_LEASE_SECONDS"])


def has_heartbeats(db: Database) -> bool:
    """Whether ops.job_run_heartbeats exists (V022): not while the migrations that create it are pending."""
    try:
        return db.table_exists("ops", "job_run_heartbeats")
    except Exception:  # noqa: BLE001 - no catalogue to read yet: no leases either
        return False


def beat(db: Database, run_id: str, stage: str | None = None, *, now: datetime | None = None) -> None:
    """Record a sign of life of a run (and its stage, when given)."""
    stage = stage[:200] if stage else None
    db.retry_transaction(
        lambda tx: tx.execute(_BEAT, (run_id, now or now_utc(), stage)), what=f"the heartbeat of run {run_id}"
    )


class Heartbeat:
    """Beats for one run from its own thread, on its own connection, every ``interval`` seconds and soon
    after each new stage: a job busy in one long statement still shows it is alive. A beat that fails
    (the database unreachable, the table not migrated yet, a write conflict) is skipped, never fatal."""

    def __init__(self, settings: Settings, run_id: str, interval: float) -> None:
        self.settings, self.run_id, self.interval = settings, run_id, interval
        self._stage: str | None = None
        self._changed, self._stopped = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{run_id[:8]}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stage(self, message: str) -> None:
        self._stage = first_line(message, "")[:200] or None
        self._changed.set()

    def stop(self) -> None:
        self._stopped.set()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)  # a beat blocked on the database must not hold the job up for long

    def _run(self) -> None:
        db: Database | None = None
        try:
            while True:
                self._changed.wait(self.interval)
                self._changed.clear()
                if self._stopped.is_set():
                    return
                try:
                    db = db or connect(self.settings)
                    if has_heartbeats(db):
                        beat(db, self.run_id, self._stage)
                except Exception as exc:  # noqa: BLE001 - the next beat tries again on a new connection
                    log.debug("heartbeat of run %s skipped: %s", self.run_id, safe_reason(exc))
                    if db is not None:
                        _close_quietly(db)
                    db = None
                self._stopped.wait(min(1.0, self.interval))  # stages may come fast: at most a beat a second
        finally:
            if db is not None:
                _close_quietly(db)


def _close_quietly(db: Database) -> None:
    try:
        db.close()
    except Exception:  # noqa: BLE001
        pass


def fail_abandoned(
    db: Database, job: str, *, lease_seconds: float, except_run: str = "", now: datetime | None = None
) -> list[str]:
    """Record every abandoned run of ``job`` (its heartbeat older than the lease) as failed, with the last
    stage it reached; returns their run ids. The next run of a job calls this before it starts."""
    if not _history_exists(db) or not has_heartbeats(db):
        return []
    now = now or now_utc()
    cutoff = now - lease_of(lease_seconds)
    failed = []
    for row in db.query_dicts(_SELECT_SILENT, (job, except_run, cutoff)):
        if not is_abandoned(row, now, lease_seconds):
            continue
        reason = abandonment_reason(row, lease_seconds)
        params = (now, reason, row["run_id"], cutoff, row["run_id"], cutoff)
        if db.retry_transaction(
            lambda tx: tx.execute(_FAIL_SILENT, params) == 1,  # noqa: B023 - runs here, now
            what=f"failing abandoned run {row['run_id']}",
        ):
            failed.append(row["run_id"])
            log_event(
                EVENT_JOB_FINISHED,
                job=job,
                run_id=row["run_id"],
                trigger=row["trigger_type"],
                outcome="failed",
                error=reason,
            )
    return failed


# -- running a job ----------------------------------------------------------------------------------------


def run_job(
    job: str,
    trigger: str,
    body: Callable[[JobContext], dict[str, Any]],
    *,
    settings: Settings | None = None,
    run_id: str | None = None,
    invocation_id: str = "",
    progress: Callable[[str], None] | None = None,
    db: Database | None = None,
) -> dict[str, Any]:
    """Run ``body`` as a recorded job; returns its summary (with ``run_id``) or raises JobFailed.

    The body's exceptions become a failed run with a readable reason; the database connection is
    opened here (unless given) and closed when the job ends. Before the body starts, abandoned runs of
    the same job are recorded as failed; while it runs, a heartbeat shows it is alive.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    settings = settings or Settings.from_env()
    run_id = run_id or str(uuid.uuid4())
    started, t0 = now_utc(), time.perf_counter()
    own_db = db is None
    db = db or connect(settings)
    lease = lease_seconds_of(settings)
    heartbeat = Heartbeat(settings, run_id, beat_interval(lease))
    told = progress or (lambda _m: None)

    def report(message: str) -> None:
        heartbeat.stage(message)
        told(message)

    ctx = JobContext(db, settings, run_id, job, trigger, invocation_id, report)
    try:
        try:
            record_start(db, run_id, job, trigger, started)
        except Exception:  # noqa: BLE001 - the finish inserts the record when the start could not
            pass
        try:
            fail_abandoned(db, job, lease_seconds=lease, except_run=run_id)
        except Exception as exc:  # noqa: BLE001 - never a reason not to run the job
            log.warning("could not record abandoned runs of %s as failed: %s", job, safe_reason(exc))
        log_event(EVENT_JOB_STARTED, job=job, run_id=run_id, trigger=trigger)
        heartbeat.start()
        try:
            summary = body(ctx) or {}
        except Exception as exc:
            heartbeat.stop()
            reason = safe_reason(exc)
            duration = round(time.perf_counter() - t0, 3)
            summary = {**ctx.summary, **getattr(exc, "summary", {})}
            try:
                db.rollback()
                record_finish(db, run_id, job, trigger, started, "failed", summary, reason)
            except Exception:
                pass  # the database may be the thing that failed; the log below still tells
            log_event(
                EVENT_JOB_FINISHED,
                job=job,
                run_id=run_id,
                trigger=trigger,
                outcome="failed",
                duration_s=duration,
                error=reason,
                **_numbers(summary),
            )
            raise JobFailed(reason, run_id, summary) from exc
        heartbeat.stop()
        duration = round(time.perf_counter() - t0, 3)
        summary = {**ctx.summary, **summary}
        record_finish(db, run_id, job, trigger, started, "succeeded", summary, None)
        log_event(
            EVENT_JOB_FINISHED,
            job=job,
            run_id=run_id,
            trigger=trigger,
            outcome="succeeded",
            duration_s=duration,
            **_numbers(summary),
        )
        return {"run_id": run_id, **summary}
    finally:
        heartbeat.stop()
        if own_db:
            db.close()


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    """The declared scalar figures of a summary (row counts, ...) that go into the finished event."""
    return {
        k: v
        for k, v in summary.items()
        if k in SUMMARY_FIGURES and isinstance(v, (int, float, str, bool)) and v is not None
    }


def safe_reason(exc: BaseException) -> str:
    """A one-line reason for a failure, never longer than a screen, never carrying a secret."""
    return first_line(exc)[:1000]


# -- reading the history ----------------------------------------------------------------------------------

_COLUMNS = "run_id, job, trigger_type, started_at, finished_at, status, summary, error"
#: Each run's heartbeat, read along (correlated on the outer table's exposed name, ``job_runs``).
_HEARTBEAT_COLUMNS = (
    ", (SELECT h.heartbeat_at FROM ops.job_run_heartbeats h WHERE h.run_id = job_runs.run_id) AS heartbeat_at"
    ", (SELECT h.stage FROM ops.job_run_heartbeats h WHERE h.run_id = job_runs.run_id) AS stage"
)


def check_limit(limit: Any) -> int:
    """How many runs to list: a whole number from 1 to MAX_LIMIT (it goes into ``TOP``)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def as_reported(row: dict[str, Any], *, lease_seconds: float, now: datetime | None = None) -> dict[str, Any]:
    """A history row as it is shown: the summary parsed, and ``abandoned`` (with the reason and the last
    stage) for a run under way whose heartbeat is older than the lease."""
    row["summary"] = json.loads(row["summary"]) if row.get("summary") else {}
    row.setdefault("heartbeat_at", None)
    row.setdefault("stage", None)
    return mark_abandoned(row, now or now_utc(), lease_seconds)


def recent_runs(
    db: Database, job: str | None = None, limit: int = 20, *, lease_seconds: float | None = None
) -> list[dict[str, Any]]:
    """The latest job runs, newest first (for ``scout jobs`` and the portal's history)."""
    limit = check_limit(limit)
    if not _history_exists(db):
        return []
    lease = lease_seconds if lease_seconds is not None else lease_seconds_of(None)
    columns = _COLUMNS + (_HEARTBEAT_COLUMNS if has_heartbeats(db) else "")
    where, params = ("WHERE job = ?", (job,)) if job else ("", ())
    rows = db.query_dicts(f"SELECT TOP {limit} {columns} FROM ops.job_runs {where} ORDER BY started_at DESC", params)
    now = now_utc()
    return [as_reported(row, lease_seconds=lease, now=now) for row in rows]


def get_run(db: Database, run_id: str, *, lease_seconds: float | None = None) -> dict[str, Any] | None:
    """One run as reported (``abandoned`` once its lease is over), or None."""
    if not _history_exists(db):
        return None
    lease = lease_seconds if lease_seconds is not None else lease_seconds_of(None)
    columns = _COLUMNS + (_HEARTBEAT_COLUMNS if has_heartbeats(db) else "")
    rows = db.query_dicts(f"SELECT {columns} FROM ops.job_runs WHERE run_id = ?", (run_id,))
    return as_reported(rows[0], lease_seconds=lease) if rows else None
