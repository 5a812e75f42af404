"""Monte Carlo runs in the database: create (validate, fit, plan), store each batch once, combine once.

The same functions serve the local process pool (CLI) and the queue-triggered function: a batch is
``simulate`` (pure, anywhere) then ``store_batch`` (idempotent: a redelivered batch counts once);
the batch that completes the set combines the partials, guarded by a conditional status update.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np

from scout.db.base import Database
from scout.errors import NotFound
from scout.jobs.runs import log_event, now_utc, record_finish, record_start
from scout.montecarlo import model
from scout.montecarlo.scenario import Scenario, check_segment, load_history

JOB = "montecarlo.run"


def create_run(db: Database, scenario: Scenario, *, trigger: str, session_id: str | None = None) -> dict[str, Any]:
    """Validate against the data, fit the model, record the run as processing; returns the run row."""
    check_segment(db, scenario)
    counts, values, units, stores = load_history(db, scenario)
    fitted = model.fit(counts, values, units, stores=stores, price_change_pct=scenario.price_change_pct,
                       elasticity=scenario.elasticity, promo_uplift_pct=scenario.promo_uplift_pct,
                       store_change=scenario.store_change)
    entropy = scenario.seed if scenario.seed is not None else int(np.random.SeedSequence().entropy % (2 ** 63))
    plan = model.batch_plan(scenario.iterations, scenario.batches)
    run_id, now = str(uuid.uuid4()), now_utc()
    with db.transaction():
        db.execute(
            "INSERT INTO results.montecarlo_runs (run_id, session_id, scenario, model, iterations, horizon_days, "
            "seed_entropy, chunk_size, batches, batches_done, status, stage, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'processing', ?, ?, ?)",
            (run_id, session_id, json.dumps(scenario.as_dict()), json.dumps(fitted.as_dict()), scenario.iterations,
             scenario.horizon_days, str(entropy), model.CHUNK, len(plan), f"simulating 0/{len(plan)} batches", now, now))
    record_start(db, run_id, JOB, trigger, now)
    log_event("scout.job.started", job=JOB, run_id=run_id, trigger=trigger)
    return get_run(db, run_id)


def get_run(db: Database, run_id: str) -> dict[str, Any]:
    rows = db.query_dicts(
        "SELECT run_id, session_id, scenario, model, iterations, horizon_days, seed_entropy, chunk_size, batches, "
        "batches_done, status, stage, error, results, created_at, updated_at FROM results.montecarlo_runs "
        "WHERE run_id = ?", (run_id,))
    if not rows:
        raise NotFound(f"no Monte Carlo run {run_id}")
    run = rows[0]
    for key in ("scenario", "model", "results"):
        run[key] = json.loads(run[key]) if run[key] else None
    run["percent"] = int(100 * run["batches_done"] / run["batches"]) if run["status"] != "completed" else 100
    return run


def fitted_of(run: dict[str, Any]) -> model.Fitted:
    fields = {k: v for k, v in run["model"].items() if k in model.Fitted.__dataclass_fields__}
    return model.Fitted(**fields)


def simulate(run: dict[str, Any], batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The numbers of one batch (pure: no database), identical wherever it runs."""
    plan = model.batch_plan(run["iterations"], run["batches"])
    if not 0 <= batch < len(plan):
        raise NotFound(f"run {run['run_id']} has no batch {batch}")
    return model.simulate_batch(fitted_of(run), run["horizon_days"], int(run["seed_entropy"]), plan[batch])


def store_batch(db: Database, run_id: str, batch: int, revenue: np.ndarray, units: np.ndarray,
                daily: np.ndarray | None, *, seconds: float = 0.0) -> dict[str, Any]:
    """Record a batch's partial once (a redelivery is ignored) and complete the run after the last."""
    with db.transaction():
        exists = db.query_one("SELECT COUNT(*) FROM results.montecarlo_partials WHERE run_id = ? AND batch = ?",
                              (run_id, batch))[0]
        if not exists:
            db.execute("INSERT INTO results.montecarlo_partials (run_id, batch, revenue, units, daily, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (run_id, batch, revenue.astype("<f8").tobytes(), units.astype("<f8").tobytes(),
                        None if daily is None else daily.astype("<f8").tobytes(), now_utc()))
            done = db.query_one("SELECT COUNT(*) FROM results.montecarlo_partials WHERE run_id = ?", (run_id,))[0]
            db.execute("UPDATE results.montecarlo_runs SET batches_done = ?, stage = CONCAT('simulating ', ?, '/', "
                       "batches, ' batches'), updated_at = ? WHERE run_id = ? AND status = 'processing'",
                       (int(done), int(done), now_utc(), run_id))
    if not exists:
        log_event("scout.montecarlo.batch", run_id=run_id, batch=batch, iterations=int(len(revenue)),
                  duration_s=round(seconds, 3))
    run = get_run(db, run_id)
    if run["status"] == "processing" and run["batches_done"] == run["batches"]:
        complete(db, run)
    return get_run(db, run_id)


def complete(db: Database, run: dict[str, Any]) -> None:
    """Combine every partial into the results, exactly once (the conditional update elects one caller)."""
    with db.transaction():
        won = db.execute("UPDATE results.montecarlo_runs SET status = 'combining', stage = 'combining batches', "
                         "updated_at = ? WHERE run_id = ? AND status = 'processing'", (now_utc(), run["run_id"]))
    if won == 0:
        return
    rows = db.query("SELECT batch, revenue, units, daily FROM results.montecarlo_partials WHERE run_id = ? "
                    "ORDER BY batch", (run["run_id"],))
    revenue = np.concatenate([np.frombuffer(bytes(r[1]), dtype="<f8") for r in rows])
    units = np.concatenate([np.frombuffer(bytes(r[2]), dtype="<f8") for r in rows])
    fans = [np.frombuffer(bytes(r[3]), dtype="<f8").reshape(-1, run["horizon_days"]) for r in rows if r[3] is not None]
    summary = model.summarise(revenue, units, np.concatenate(fans) if fans else None, target=run["scenario"]["target"])
    summary.update({"scenario": run["scenario"], "model": run["model"], "seed_entropy": run["seed_entropy"],
                    "batches": run["batches"]})
    finished = now_utc()
    with db.transaction():
        db.execute("UPDATE results.montecarlo_runs SET status = 'completed', stage = 'completed', results = ?, "
                   "updated_at = ? WHERE run_id = ?", (json.dumps(summary), finished, run["run_id"]))
    duration = (finished - run["created_at"]).total_seconds()
    headline = {"iterations": run["iterations"], "batches": run["batches"], "horizon_days": run["horizon_days"]}
    record_finish(db, run["run_id"], JOB, "queue", run["created_at"], "succeeded", headline, None, True)
    log_event("scout.job.finished", job=JOB, run_id=run["run_id"], trigger="queue", outcome="succeeded",
              duration_s=round(duration, 3), **headline)
    log_event("scout.montecarlo.run", run_id=run["run_id"], status="completed", iterations=run["iterations"],
              duration_s=round(duration, 3))
    if run.get("session_id"):
        from scout.results.sessions import run_completed

        run_completed(db, run["session_id"], get_run(db, run["run_id"]))


def fail(db: Database, run_id: str, reason: str) -> None:
    """Mark a run failed with its reason (a batch that keeps failing ends here)."""
    run = get_run(db, run_id)
    if run["status"] in ("completed", "failed"):
        return
    with db.transaction():
        db.execute("UPDATE results.montecarlo_runs SET status = 'failed', stage = 'failed', error = ?, updated_at = ? "
                   "WHERE run_id = ?", (reason[:2000], now_utc(), run_id))
    record_finish(db, run_id, JOB, "queue", run["created_at"], "failed", {}, reason, True)
    log_event("scout.job.finished", job=JOB, run_id=run_id, trigger="queue", outcome="failed", error=reason,
              duration_s=round((now_utc() - run["created_at"]).total_seconds(), 3))
    log_event("scout.montecarlo.run", run_id=run_id, status="failed", iterations=run["iterations"],
              duration_s=round((now_utc() - run["created_at"]).total_seconds(), 3))
    if run.get("session_id"):
        from scout.results.sessions import run_failed

        run_failed(db, run["session_id"], reason)
