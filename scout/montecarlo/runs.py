"""Monte Carlo runs in the database: create (validate, fit, plan), store each batch once, combine once.

The same functions serve the local process pool (CLI) and the queue-triggered function: a batch is
``simulate`` (pure, anywhere) then ``store_batch``. The fan-in is correct however many batches finish at
the same instant, on SQL Server and DuckDB alike:

- counting a batch and storing its partial is one transaction: ``batches_done = batches_done + 1``
  on the run's row comes first (SQL Server locks the row until commit, DuckDB raises a write conflict
  and the transaction runs again), so stores of one run take turns, no count is lost, and the "insert
  the partial unless present" that follows sees any earlier delivery of the batch (then the whole
  transaction is rolled back: a redelivery counts nothing);
- the one combiner is elected by one conditional UPDATE (``claim_combine``): a claim with a lease, so a
  combiner that dies is replaced by a later delivery once the lease is over;
- completing is a conditional UPDATE on the claim's token, so a run is completed exactly once; a combine
  that raises gives its claim back and re-raises, so the queue delivers the message again (after
  ``maxDequeueCount`` deliveries the poison handler fails the run with the reason).

A run beats while it works: every store, claim and combine moves ``updated_at``, and a local pool beats
between batches (``touch``). A run under way whose ``updated_at`` is older than the lease
(``SCOUT_RUN_LEASE_SECONDS``) is reported ``abandoned`` by ``get_run`` (``scout.jobs.leases``); its process
died, and ``take_over`` lets a resume (``scout montecarlo run --resume``) continue it from the batches
already stored (``missing_batches``), while a redelivered queue message simply stores its batch.

Nothing here knows about results sessions: they read the run (``scout.results.sessions``).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from scout.db.base import Database
from scout.errors import NotFound
from scout.jobs.leases import lease_of, mark_abandoned
from scout.jobs.runs import has_heartbeats, lease_seconds_of, log_event, now_utc, record_finish_in, record_start_in
from scout.montecarlo import model
from scout.montecarlo.scenario import Scenario, check_segment, fit_history, segment_history

JOB = "montecarlo.run"
log = logging.getLogger("scout.montecarlo")

#: A run in one of these states takes no more batches.
ENDED = ("completed", "failed")
#: How long a combine claim holds before another delivery may take it over. The largest run (1,000,000
#: iterations) combines in about a second. The message of a combiner that died comes back once its
#: visibility timeout ends; while the lease is live it raises CombinePending and comes back 30 s later
#: (host.json visibilityTimeout), so a dead combiner is replaced well before maxDequeueCount (5).
COMBINE_LEASE = timedelta(seconds=60)
#: Many batches of one run may update its row at the same instant (host.json runs 4 messages at once per
#: instance); on DuckDB all but one lose a write conflict and run again, so a store may need more rounds
#: than retry_transaction's default.
STORE_ATTEMPTS = 30
#: The ``combiner_batch`` a local resume claims a combine with (a queue message claims with its batch).
RESUME_BATCH = -1

_INSERT_RUN = (
    "INSERT INTO results.montecarlo_runs (run_id, session_id, scenario, model, iterations, horizon_days, "
    "seed_entropy, chunk_size, batches, batches_done, status, stage, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'processing', ?, ?, ?)"
)
_SELECT_RUN = (
    "SELECT run_id, session_id, scenario, model, iterations, horizon_days, seed_entropy, chunk_size, batches, "
    "batches_done, status, stage, error, results, combiner, combiner_batch, combine_claimed_at, combine_claims, "
    "created_at, updated_at FROM results.montecarlo_runs WHERE run_id = ?"
)
#: The first statement of a store counts the batch: it writes the run's row (a real change, which DuckDB
#: needs to see a conflict: it lets an update that changes nothing pass), so stores of one run go one
#: at a time (SQL Server: the row's lock until commit; DuckDB: a write conflict, the store runs again).
_COUNT_BATCH_IF_PROCESSING = (
    "UPDATE results.montecarlo_runs SET batches_done = batches_done + 1, "
    "stage = CONCAT('simulating ', batches_done + 1, '/', batches, ' batches'), updated_at = ? "
    "WHERE run_id = ? AND status = 'processing'"
)
#: Each blob is cast explicitly: a NULL ``daily`` bound without a type may reach SQL Server as varchar,
#: which it refuses to put in a VARBINARY column (Msg 257).
_INSERT_PARTIAL_UNLESS_PRESENT = (
    "INSERT INTO results.montecarlo_partials (run_id, batch, revenue, units, daily, created_at) "
    "SELECT ?, ?, CAST(? AS VARBINARY(MAX)), CAST(? AS VARBINARY(MAX)), CAST(? AS VARBINARY(MAX)), ? "
    "WHERE NOT EXISTS (SELECT 1 FROM results.montecarlo_partials WHERE run_id = ? AND batch = ?)"
)
_HAS_PARTIAL = "SELECT COUNT(*) FROM results.montecarlo_partials WHERE run_id = ? AND batch = ?"
_CLAIM_COMBINE = (
    "UPDATE results.montecarlo_runs SET status = 'combining', stage = 'combining batches', combiner = ?, "
    "combiner_batch = ?, combine_claimed_at = ?, combine_claims = COALESCE(combine_claims, 0) + 1, updated_at = ? "
    "WHERE run_id = ? AND batches_done = batches "
    "AND (status = 'processing' OR (status = 'combining' AND combine_claimed_at < ?))"
)
_READ_PARTIALS = "SELECT batch, revenue, units, daily FROM results.montecarlo_partials WHERE run_id = ? ORDER BY batch"
_COMPLETE_CLAIMED = (
    "UPDATE results.montecarlo_runs SET status = 'completed', stage = 'completed', results = ?, error = NULL, "
    "updated_at = ? WHERE run_id = ? AND status = 'combining' AND combiner = ?"
)
_RELEASE_CLAIM = (
    "UPDATE results.montecarlo_runs SET status = 'processing', stage = 'combine failed, waiting for a redelivery', "
    "error = ?, combiner = NULL, combiner_batch = NULL, combine_claimed_at = NULL, updated_at = ? "
    "WHERE run_id = ? AND status = 'combining' AND combiner = ?"
)
#: A local pool's heartbeat between batches (a long batch must not make the run look dead).
_TOUCH = "UPDATE results.montecarlo_runs SET updated_at = ? WHERE run_id = ? AND status IN ('processing', 'combining')"
#: A resume takes the run over only when it is abandoned (its last sign of life older than the lease), in
#: one conditional UPDATE: of two resumes at once, one wins.
_TAKE_OVER = (
    "UPDATE results.montecarlo_runs SET updated_at = ?, "
    "stage = CONCAT('resumed at ', batches_done, '/', batches, ' batches') "
    "WHERE run_id = ? AND status IN ('processing', 'combining') AND updated_at < ?"
)
_STORED_BATCHES = "SELECT batch FROM results.montecarlo_partials WHERE run_id = ? ORDER BY batch"
#: The run's ops.job_runs record beats with it and shows its stage (``scout jobs list`` applies the lease too).
_BEAT_JOB_RUN = (
    "MERGE ops.job_run_heartbeats WITH (HOLDLOCK) AS h "
    "USING (SELECT r.run_id, ? AS heartbeat_at, r.stage FROM results.montecarlo_runs r WHERE r.run_id = ?) AS s "
    "ON h.run_id = s.run_id "
    "WHEN MATCHED THEN UPDATE SET heartbeat_at = s.heartbeat_at, stage = s.stage "
    "WHEN NOT MATCHED THEN INSERT (run_id, heartbeat_at, stage) VALUES (s.run_id, s.heartbeat_at, s.stage);"
)
_FAIL_UNFINISHED = (
    "UPDATE results.montecarlo_runs SET status = 'failed', stage = 'failed', error = ?, updated_at = ? "
    "WHERE run_id = ? AND status IN ('processing', 'combining')"
)


class CombinePending(RuntimeError):
    """An earlier delivery of this very batch claimed the combine and has not finished it within the lease
    yet: it may have died. Raised so the queue keeps the message and delivers it again after its
    visibility timeout, when the lease may have ended (then that delivery combines)."""


def create_run(db: Database, scenario: Scenario, *, trigger: str, session_id: str | None = None) -> dict[str, Any]:
    """Validate against the data, fit the model, record the run as processing; returns the run row."""
    check_segment(db, scenario)
    fitted = fit_history(segment_history(db, scenario), scenario)  # from gold when it covers the segment
    entropy = scenario.seed if scenario.seed is not None else int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    plan = model.batch_plan(scenario.iterations, scenario.batches)
    run_id, now = str(uuid.uuid4()), now_utc()

    def record(tx: Database) -> None:
        tx.execute(
            _INSERT_RUN,
            (
                run_id,
                session_id,
                json.dumps(scenario.as_dict()),
                json.dumps(fitted.as_dict()),
                scenario.iterations,
                scenario.horizon_days,
                str(entropy),
                model.CHUNK,
                len(plan),
                f"simulating 0/{len(plan)} batches",
                now,
                now,
            ),
        )
        record_start_in(tx, run_id, JOB, trigger, now)

    db.retry_transaction(record, what=f"recording Monte Carlo run {run_id}")
    log_event("scout.job.started", job=JOB, run_id=run_id, trigger=trigger)
    return load_run(db, run_id)


def load_run(db: Database, run_id: str) -> dict[str, Any]:
    """The run as recorded (what the fan-in decides on); ``get_run`` is the run as it is reported."""
    rows = db.query_dicts(_SELECT_RUN, (run_id,))
    if not rows:
        raise NotFound(f"no Monte Carlo run {run_id}")
    run = rows[0]
    for key in ("scenario", "model", "results"):
        run[key] = json.loads(run[key]) if run[key] else None
    run["percent"] = int(100 * run["batches_done"] / run["batches"]) if run["status"] != "completed" else 100
    return run


def get_run(
    db: Database, run_id: str, *, lease_seconds: float | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The run as reported (``scout montecarlo show``, the status endpoint, results sessions): ``status`` is
    ``abandoned`` for a run under way whose last sign of life (``updated_at``) is older than the lease
    (default ``SCOUT_RUN_LEASE_SECONDS``); ``stage`` is then the last stage it reached and ``error`` says so."""
    run = load_run(db, run_id)
    lease = lease_seconds if lease_seconds is not None else lease_seconds_of(None)
    return mark_abandoned(run, now or now_utc(), lease)


def fitted_of(run: dict[str, Any]) -> model.Fitted:
    fields = {k: v for k, v in run["model"].items() if k in model.Fitted.__dataclass_fields__}
    return model.Fitted(**fields)


def check_batch(run: dict[str, Any], batch: int) -> None:
    if not 0 <= batch < run["batches"]:
        raise NotFound(f"run {run['run_id']} has no batch {batch}")


def simulate(run: dict[str, Any], batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The numbers of one batch (pure: no database), identical wherever it runs."""
    check_batch(run, batch)
    plan = model.batch_plan(run["iterations"], run["batches"])
    return model.simulate_batch(fitted_of(run), run["horizon_days"], int(run["seed_entropy"]), plan[batch])


def has_partial(db: Database, run_id: str, batch: int) -> bool:
    """Whether the batch's partial is stored (a redelivered message need not simulate again)."""
    return bool(db.query_value(_HAS_PARTIAL, (run_id, batch)))


def _blob(values: np.ndarray | None) -> bytes | None:
    return None if values is None else values.astype("<f8").tobytes()


class _StoredAlready(Exception):
    """The partial was stored by an earlier delivery: the store's transaction is rolled back, count and all."""


def store_partial(
    db: Database, run_id: str, batch: int, revenue: np.ndarray, units: np.ndarray, daily: np.ndarray | None
) -> bool:
    """Count the batch and store its partial, in one transaction, unless it is stored already (a
    redelivery: the count is rolled back with it) or the run no longer takes batches; True when this
    call stored it."""
    blobs = (_blob(revenue), _blob(units), _blob(daily))

    def store(tx: Database) -> bool:
        now = now_utc()
        if tx.execute(_COUNT_BATCH_IF_PROCESSING, (now, run_id)) != 1:
            return False  # the run is combining or ended: every partial is in already
        if tx.execute(_INSERT_PARTIAL_UNLESS_PRESENT, (run_id, batch, *blobs, now, run_id, batch)) != 1:
            raise _StoredAlready
        return True

    try:
        stored = db.retry_transaction(store, attempts=STORE_ATTEMPTS, what=f"storing batch {batch} of run {run_id}")
    except _StoredAlready:
        return False
    if stored:
        beat_job_run(db, run_id)
    return stored


def beat_job_run(db: Database, run_id: str, *, now: datetime | None = None) -> None:
    """The run's ops.job_runs record beats too, with the run's stage. Best effort: the run's own row is the
    source of truth, so a beat lost to a write conflict (batches of one run at once) is simply skipped."""
    try:
        if has_heartbeats(db):
            db.retry_transaction(
                lambda tx: tx.execute(_BEAT_JOB_RUN, (now or now_utc(), run_id)),
                attempts=2,
                what=f"the heartbeat of run {run_id}'s job record",
            )
    except Exception as exc:  # noqa: BLE001 - see above
        log.debug("run %s: job record heartbeat skipped: %s", run_id, exc)


def touch(db: Database, run_id: str, *, now: datetime | None = None) -> bool:
    """A sign of life of a run under way (a local pool between batches); False when the run has ended."""
    now = now or now_utc()
    alive = db.retry_transaction(lambda tx: tx.execute(_TOUCH, (now, run_id)) == 1, what=f"touching run {run_id}")
    if alive:
        beat_job_run(db, run_id, now=now)
    return alive


def take_over(db: Database, run_id: str, *, lease_seconds: float, now: datetime | None = None) -> bool:
    """Take an abandoned run over (to resume it here): True when its last sign of life was older than the
    lease and this call moved it (it is alive again, ours); False when it is live, ended or taken already."""
    now = now or now_utc()
    taken = db.retry_transaction(
        lambda tx: tx.execute(_TAKE_OVER, (now, run_id, now - lease_of(lease_seconds))) == 1,
        what=f"taking run {run_id} over",
    )
    if taken:
        beat_job_run(db, run_id, now=now)
    return taken


def missing_batches(db: Database, run: dict[str, Any]) -> list[int]:
    """The batches whose partial is not stored yet (what a resume still has to simulate)."""
    stored = {int(r[0]) for r in db.query(_STORED_BATCHES, (run["run_id"],))}
    return [b for b in range(run["batches"]) if b not in stored]


def store_batch(
    db: Database,
    run_id: str,
    batch: int,
    revenue: np.ndarray,
    units: np.ndarray,
    daily: np.ndarray | None,
    *,
    seconds: float = 0.0,
) -> dict[str, Any]:
    """Store and count the batch's partial once (a redelivery counts nothing), then combine the run if
    every partial is in. Returns the run."""
    if store_partial(db, run_id, batch, revenue, units, daily):
        log_event(
            "scout.montecarlo.batch",
            run_id=run_id,
            batch=batch,
            iterations=int(len(revenue)),
            duration_s=round(seconds, 3),
        )
    return combine_if_complete(db, run_id, batch)


def claim_combine(db: Database, run_id: str, batch: int, *, now: datetime | None = None) -> str | None:
    """Claim the combine of a run whose partials are all in, unless another claim holds (within its lease);
    returns the claim's token, which completing the run requires, or None."""
    now = now or now_utc()
    token = str(uuid.uuid4())
    claimed = db.retry_transaction(
        lambda tx: tx.execute(_CLAIM_COMBINE, (token, batch, now, now, run_id, now - COMBINE_LEASE)) == 1,
        what=f"claiming the combine of run {run_id}",
    )
    return token if claimed else None


def combine_if_complete(db: Database, run_id: str, batch: int) -> dict[str, Any]:
    """Combine the run when every partial is in and no live claim holds; returns the run.

    Called by every delivery of every batch: whichever claims first combines. A combine that raises
    gives its claim back and re-raises (the queue delivers the message again); a delivery of the batch
    whose earlier delivery holds the claim raises CombinePending until that claim's lease is over.
    """
    token = claim_combine(db, run_id, batch)
    if token is None:
        run = load_run(db, run_id)
        claimed_at = run["combine_claimed_at"]
        if run["status"] == "combining" and run["combiner_batch"] == batch and claimed_at is not None:
            raise CombinePending(
                f"run {run_id} is being combined by an earlier delivery of batch {batch} "
                f"(claimed at {claimed_at:%H:%M:%S} UTC); this delivery takes over "
                f"after {COMBINE_LEASE.total_seconds():g} s"
            )
        return run
    try:
        combine(db, load_run(db, run_id), token)
    except Exception as exc:
        try:
            release_claim(db, run_id, token, f"combine failed: {type(exc).__name__}: {exc}")
        except Exception as release_error:  # noqa: BLE001 - the database may be what failed: the lease ends it
            log.warning(
                "run %s: could not give the combine claim back (%s); it ends with its lease", run_id, release_error
            )
        raise
    return load_run(db, run_id)


def combine(db: Database, run: dict[str, Any], token: str) -> bool:
    """Summarise every partial and complete the run if the claim ``token`` still holds it; False when it
    does not (a later delivery took the run over after the lease, or it ended meanwhile)."""
    rows = db.query(_READ_PARTIALS, (run["run_id"],))
    if len(rows) != run["batches"]:
        raise RuntimeError(f"run {run['run_id']} has {len(rows)} partials for {run['batches']} batches")
    revenue = np.concatenate([np.frombuffer(bytes(r[1]), dtype="<f8") for r in rows])
    units = np.concatenate([np.frombuffer(bytes(r[2]), dtype="<f8") for r in rows])
    fans = [np.frombuffer(bytes(r[3]), dtype="<f8").reshape(-1, run["horizon_days"]) for r in rows if r[3] is not None]
    summary = model.summarise(revenue, units, np.concatenate(fans) if fans else None, target=run["scenario"]["target"])
    summary.update(
        {
            "scenario": run["scenario"],
            "model": run["model"],
            "seed_entropy": run["seed_entropy"],
            "batches": run["batches"],
        }
    )
    finished = now_utc()
    headline = {"iterations": run["iterations"], "batches": run["batches"], "horizon_days": run["horizon_days"]}

    def complete(tx: Database) -> bool:
        if tx.execute(_COMPLETE_CLAIMED, (json.dumps(summary), finished, run["run_id"], token)) != 1:
            return False
        record_finish_in(tx, run["run_id"], JOB, "queue", run["created_at"], "succeeded", headline, None)
        return True

    if not db.retry_transaction(complete, what=f"completing run {run['run_id']}"):
        log.warning("run %s: combined, but its claim no longer holds; the run's record is left as it is", run["run_id"])
        return False
    duration = round((finished - run["created_at"]).total_seconds(), 3)
    log_event(
        "scout.job.finished",
        job=JOB,
        run_id=run["run_id"],
        trigger="queue",
        outcome="succeeded",
        duration_s=duration,
        **headline,
    )
    log_event(
        "scout.montecarlo.run",
        run_id=run["run_id"],
        status="completed",
        iterations=run["iterations"],
        duration_s=duration,
    )
    return True


def release_claim(db: Database, run_id: str, token: str, reason: str) -> None:
    """Give a claim back after a failed combine: the run is processing again, with the reason as its error
    until a later delivery combines it."""
    db.retry_transaction(
        lambda tx: tx.execute(_RELEASE_CLAIM, (reason[:2000], now_utc(), run_id, token)),
        what=f"releasing the combine claim of run {run_id}",
    )


def fail(db: Database, run_id: str, reason: str) -> None:
    """Mark an unfinished run failed with its reason (a batch that keeps failing ends here); a run that
    already completed or failed stays as it is. The last combine error, if any, joins the reason."""
    run = load_run(db, run_id)
    if run["error"] and run["error"] not in reason:
        reason = f"{reason}; last error: {run['error']}"
    now = now_utc()

    def mark(tx: Database) -> bool:
        if tx.execute(_FAIL_UNFINISHED, (reason[:2000], now, run_id)) != 1:
            return False
        record_finish_in(tx, run_id, JOB, "queue", run["created_at"], "failed", {}, reason)
        return True

    if not db.retry_transaction(mark, what=f"failing run {run_id}"):
        return
    duration = round((now - run["created_at"]).total_seconds(), 3)
    log_event(
        "scout.job.finished",
        job=JOB,
        run_id=run_id,
        trigger="queue",
        outcome="failed",
        error=reason,
        duration_s=duration,
    )
    log_event("scout.montecarlo.run", run_id=run_id, status="failed", iterations=run["iterations"], duration_s=duration)
