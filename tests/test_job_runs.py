"""ops.job_runs when processes race on one run (a queue message delivered twice, two workers finishing
at the same instant): one record per run, never a key violation, the first finish stands whole."""

from datetime import timedelta

import pytest

from scout.db import connect
from scout.jobs.runs import JobFailed, get_run, now_utc, record_finish, record_start, run_job
from tests.concurrency import at_once


@pytest.fixture
def queued(migrated):
    with connect(migrated) as db:
        record_start(db, "run-1", "personas.infer", "http", now_utc(), status="queued")
    return migrated


def rows_of(settings, run_id):
    with connect(settings) as db:
        return db.query("SELECT status FROM ops.job_runs WHERE run_id = ?", (run_id,))


def test_workers_starting_one_queued_run_at_once_leave_one_running_record(queued):
    recorded = at_once(queued, lambda db, _i: record_start(db, "run-1", "personas.infer", "queue", now_utc()))

    assert recorded == [True] * 8
    assert rows_of(queued, "run-1") == [("running",)]


def test_workers_finishing_one_run_at_once_record_exactly_one_finish_whole(queued):
    def finish(db, i):
        outcome = ("succeeded", None) if i % 2 else ("failed", f"worker {i} failed")
        return record_finish(db, "run-1", "personas.infer", "queue", now_utc(), outcome[0], {"worker": i}, outcome[1])

    recorded = at_once(queued, finish)

    assert recorded.count(True) == 1
    winner = recorded.index(True)
    with connect(queued) as db:
        run = get_run(db, "run-1")
    assert run["summary"] == {"worker": winner} and run["finished_at"] is not None
    assert (run["status"], run["error"]) == (
        ("succeeded", None) if winner % 2 else ("failed", f"worker {winner} failed")
    )


def test_a_finished_run_is_neither_reopened_nor_finished_again(queued):
    with connect(queued) as db:
        assert record_finish(db, "run-1", "personas.infer", "queue", now_utc(), "failed", {}, "out of memory")
        record_start(db, "run-1", "personas.infer", "queue", now_utc())  # a late redelivery starts it again
        assert record_finish(db, "run-1", "personas.infer", "queue", now_utc(), "succeeded", {}, None) is False
        run = get_run(db, "run-1")
    assert (run["status"], run["error"]) == ("failed", "out of memory")


def test_a_finish_whose_start_was_never_recorded_records_the_whole_run(migrated):
    started = now_utc()
    with connect(migrated) as db:
        assert record_finish(db, "run-2", "exports.flat", "timer", started, "succeeded", {"export_rows": 3}, None)
        run = get_run(db, "run-2")
    assert (run["status"], run["trigger_type"], run["started_at"], run["summary"]) == (
        "succeeded",
        "timer",
        started,
        {"export_rows": 3},
    )


def test_a_queued_job_delivered_to_several_workers_at_once_keeps_one_whole_record(queued):
    def worker(db, i):
        def body(_ctx):
            if i % 2:
                raise RuntimeError(f"attempt {i} broke")
            return {"total": i}

        try:
            return run_job("personas.infer", "queue", body, settings=queued, run_id="run-1", db=db)["total"]
        except JobFailed:
            return None

    at_once(queued, worker, 4)

    assert len(rows_of(queued, "run-1")) == 1
    with connect(queued) as db:
        run = get_run(db, "run-1")
    assert run["finished_at"] is not None
    if run["status"] == "succeeded":  # one worker's finish, not a mix of two
        assert run["error"] is None and run["summary"] in ({"total": 0}, {"total": 2})
    else:
        assert run["status"] == "failed" and run["error"] in ("attempt 1 broke", "attempt 3 broke")


def test_a_redelivery_of_a_queued_run_abandoned_in_the_queue_takes_it_over(migrated):
    """The worker that had the message died before starting it; the redelivery runs it under the same id."""
    with connect(migrated) as db:
        record_start(db, "run-3", "personas.infer", "http", now_utc() - timedelta(minutes=10), status="queued")
        assert get_run(db, "run-3", lease_seconds=60)["status"] == "abandoned"
    during = []

    def body(ctx):
        with connect(migrated) as other:
            during.append(get_run(other, ctx.run_id, lease_seconds=60)["status"])
        return {"total": 1}

    run_job("personas.infer", "queue", body, settings=migrated, run_id="run-3")

    with connect(migrated) as db:
        run = get_run(db, "run-3", lease_seconds=60)
    assert during == ["running"] and (run["status"], run["summary"]) == ("succeeded", {"total": 1})
