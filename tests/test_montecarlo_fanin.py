"""The Monte Carlo fan-in under concurrency: batches that finish at the same instant (threads, each with
its own connection to the same database) complete their run exactly once; a combine that raises or a
combiner that dies never leaves a run stuck; a redelivered batch counts once."""

import ast
import json
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlglot
from sqlglot import exp

from scout.db import connect
from scout.jobs.runs import now_utc
from scout.montecarlo import job, model, runs
from scout.montecarlo.scenario import parse_scenario
from tests.concurrency import at_once

ROOT = Path(__file__).resolve().parents[1]
#: 8 chunks of model.CHUNK iterations: the smallest run that splits into 8 batches; 2 days keep it quick.
SUMMARISE = model.summarise  # the real one, for expectations (the test counts the calls the code makes)
EIGHT_BATCHES = {"iterations": 8 * model.CHUNK, "batches": 8, "horizon_days": 2}


@pytest.fixture
def history(migrated):
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=1000, seed=3, settings=migrated)
    return migrated


@pytest.fixture
def combines(monkeypatch):
    """Counts the real combines: every call of the summarising step, from any thread."""
    calls, lock, summarise = [], threading.Lock(), model.summarise

    def counted(*args, **kwargs):
        with lock:
            calls.append(1)
        return summarise(*args, **kwargs)

    monkeypatch.setattr(model, "summarise", counted)
    return calls


def new_run(settings, **scenario):
    with connect(settings) as db:
        return runs.create_run(db, parse_scenario(scenario), trigger="queue")


def expected_results(run, partials):
    """What combining these partials must give (the summarising step, applied once, here)."""
    revenue = np.concatenate([p[0] for p in partials])
    units = np.concatenate([p[1] for p in partials])
    fans = [p[2] for p in partials if p[2] is not None]
    return SUMMARISE(revenue, units, np.concatenate(fans) if fans else None, target=None)


def message(run, batch):
    return json.dumps({"run_id": run["run_id"], "batch": batch})


def show(settings, run_id):
    with connect(settings) as db:
        run = runs.get_run(db, run_id)
        finished = db.query_dicts("SELECT status, finished_at FROM ops.job_runs WHERE run_id = ?", (run_id,))
    return run, finished


def test_eight_batches_finishing_at_once_complete_their_run_exactly_once_50_times(history, combines):
    for repetition in range(50):
        run = new_run(history, **EIGHT_BATCHES, seed=repetition)
        partials = [runs.simulate(run, b) for b in range(8)]
        before = len(combines)

        at_once(
            history, lambda db, b, run=run, partials=partials: runs.store_batch(db, run["run_id"], b, *partials[b]), 8
        )

        assert len(combines) - before == 1, f"repetition {repetition}: combined {len(combines) - before} times"
        done, finished = show(history, run["run_id"])
        assert (done["status"], done["batches_done"], done["combine_claims"]) == ("completed", 8, 1), repetition
        assert [f["status"] for f in finished] == ["succeeded"]
        truth = expected_results(run, partials)
        assert done["results"]["revenue"] == truth["revenue"] and done["results"]["units"] == truth["units"]
        assert done["results"]["daily_fan"] == truth["daily_fan"] and done["results"]["iterations"] == 80_000


def test_a_batch_delivered_eight_times_at_once_counts_once(history, combines):
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=4)
    first, second = runs.simulate(run, 0), runs.simulate(run, 1)

    stored = at_once(history, lambda db, _i: runs.store_partial(db, run["run_id"], 0, *first), 8)

    assert stored.count(True) == 1
    with connect(history) as db:
        assert (
            db.query_one("SELECT COUNT(*) FROM results.montecarlo_partials WHERE run_id = ?", (run["run_id"],))[0] == 1
        )
        assert runs.get_run(db, run["run_id"])["batches_done"] == 1
        runs.store_batch(db, run["run_id"], 1, *second)
    assert show(history, run["run_id"])[0]["status"] == "completed" and len(combines) == 1


def test_a_redelivered_batch_whose_partial_is_stored_does_not_simulate_again_but_still_combines(history):
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=5)
    with connect(history) as db:
        for batch in (0, 1):
            runs.store_partial(db, run["run_id"], batch, *runs.simulate(run, batch))  # stored, never combined
    assert show(history, run["run_id"])[0]["status"] == "processing"

    again = job.run_queued_batch(message(run, 0), settings=history)

    assert again["status"] == "completed" and again["batches_done"] == 2
    assert job.run_queued_batch(message(run, 1), settings=history) is None  # a late delivery: nothing to do


def unreadable(settings, run, batch):
    """Truncate a stored partial so that reading it fails (what the combine of a damaged row meets)."""
    with connect(settings) as db, db.transaction():
        db.execute(
            "UPDATE results.montecarlo_partials SET revenue = CAST(? AS VARBINARY(MAX)) WHERE run_id = ? AND batch = ?",
            (b"\x00" * 7, run["run_id"], batch),
        )


def test_a_combine_that_raises_gives_the_run_back_and_the_redelivery_completes_it(history):
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=6)
    job.run_queued_batch(message(run, 0), settings=history)
    unreadable(history, run, 0)

    with pytest.raises(ValueError):  # the host will deliver batch 1's message again
        job.run_queued_batch(message(run, 1), settings=history)

    stuck, _ = show(history, run["run_id"])
    assert (stuck["status"], stuck["combiner"], stuck["combine_claims"]) == ("processing", None, 1)
    assert stuck["error"].startswith("combine failed: ValueError")
    with connect(history) as db, db.transaction():  # the row is readable again
        db.execute(
            "UPDATE results.montecarlo_partials SET revenue = CAST(? AS VARBINARY(MAX)) WHERE run_id = ? AND batch = ?",
            (runs.simulate(run, 0)[0].astype("<f8").tobytes(), run["run_id"], 0),
        )

    done = job.run_queued_batch(message(run, 1), settings=history)

    assert (done["status"], done["combine_claims"], done["error"]) == ("completed", 2, None)
    assert done["results"]["revenue"] == expected_results(run, [runs.simulate(run, b) for b in (0, 1)])["revenue"]
    assert [f["status"] for f in show(history, run["run_id"])[1]] == ["succeeded"]


def test_a_combine_that_keeps_failing_reaches_the_poison_queue_and_fails_the_run_with_the_reason(history):
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=7)
    job.run_queued_batch(message(run, 0), settings=history)
    unreadable(history, run, 0)
    for _delivery in range(5):  # host.json maxDequeueCount
        with pytest.raises(ValueError):
            job.run_queued_batch(message(run, 1), settings=history)

    job.poisoned_batch(message(run, 1), settings=history)

    failed, finished = show(history, run["run_id"])
    assert failed["status"] == "failed" and "batch 1 failed repeatedly" in failed["error"]
    assert "combine failed: ValueError" in failed["error"]
    assert [f["status"] for f in finished] == ["failed"]
    assert job.run_queued_batch(message(run, 1), settings=history) is None


def test_a_combiner_that_died_is_replaced_by_a_delivery_after_its_lease(history, combines):
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=8)
    with connect(history) as db:
        for batch in (0, 1):
            runs.store_partial(db, run["run_id"], batch, *runs.simulate(run, batch))
        # batch 1's delivery claimed the combine and its process was killed: nothing else happened
        dead = runs.claim_combine(db, run["run_id"], 1)
    assert dead is not None

    assert job.run_queued_batch(message(run, 0), settings=history)["status"] == "combining"  # not its claim
    with pytest.raises(runs.CombinePending, match="earlier delivery of batch 1"):
        job.run_queued_batch(message(run, 1), settings=history)  # its own message: back to the queue
    with connect(history) as db, db.transaction():
        db.execute(
            "UPDATE results.montecarlo_runs SET combine_claimed_at = ? WHERE run_id = ?",
            (now_utc() - runs.COMBINE_LEASE - timedelta(seconds=1), run["run_id"]),
        )  # the lease ran out

    done = job.run_queued_batch(message(run, 1), settings=history)

    assert (done["status"], done["combine_claims"]) == ("completed", 2) and len(combines) == 1
    with connect(history) as db:  # the killed combiner, were it only paused, cannot complete it again
        assert runs.combine(db, runs.get_run(db, run["run_id"]), dead) is False
    again, finished = show(history, run["run_id"])
    assert again["results"] == done["results"] and [f["status"] for f in finished] == ["succeeded"]


def test_a_delivery_for_an_abandoned_run_takes_it_over_and_completes_it(history):
    """The process that ran the first batch died; the other batches' messages still come and finish the run."""
    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=10)
    job.run_queued_batch(message(run, 0), settings=history)
    with connect(history) as db, db.transaction():
        db.execute(
            "UPDATE results.montecarlo_runs SET created_at = ?, updated_at = ? WHERE run_id = ?",
            (now_utc() - timedelta(minutes=10), now_utc() - timedelta(minutes=10), run["run_id"]),
        )
        assert runs.get_run(db, run["run_id"], lease_seconds=60)["status"] == "abandoned"

    done = job.run_queued_batch(message(run, 1), settings=history)

    assert (done["status"], done["batches_done"]) == ("completed", 2)
    assert [f["status"] for f in show(history, run["run_id"])[1]] == ["succeeded"]


def test_a_partial_without_a_daily_fan_binds_its_null_as_varbinary(history):
    from scout.sql.capture import recording

    run = new_run(history, iterations=2 * model.CHUNK, batches=2, horizon_days=2, seed=9)
    revenue, units, daily = runs.simulate(run, 1)
    assert daily is None  # batch 1 starts after the first model.FAN_ITERATIONS iterations
    with recording() as recorder, connect(history) as db:
        runs.store_partial(db, run["run_id"], 1, revenue, units, daily)

    [insert] = [s.tsql for s in recorder.sent if "INTO results.montecarlo_partials" in s.tsql]
    tree = sqlglot.parse_one(insert, read="tsql")
    values = dict(zip([c.name for c in tree.this.expressions], tree.expression.expressions))
    for column in ("revenue", "units", "daily"):
        assert isinstance(values[column], exp.Cast) and values[column].to.sql("tsql") == "VARBINARY(MAX)", column


def imported_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_monte_carlo_domain_never_imports_the_results_layer():
    sources = sorted((ROOT / "scout" / "montecarlo").glob("*.py"))
    assert sources
    upward = {f"{p.name}: {m}" for p in sources for m in imported_modules(p) if m.startswith("scout.results")}
    assert not upward
