"""Runs that never lie: a run whose process died is reported ``abandoned`` with the last stage it reached once
its heartbeat is older than the lease (``SCOUT_RUN_LEASE_SECONDS``), never ``running``; the next run of the job
fails it cleanly (or, for Monte Carlo, resumes it from the batches stored); a killed run's pool workers die
with it; a killed export's staging folder is removed by a later export, never a live one.

The kills are real: ``python -m scout ...`` in a child process, SIGKILLed at a chosen moment. The moment is
chosen through the child's stderr, which stops (as a terminal that stops reading would) right after the
progress line naming the stage; the child's heartbeat keeps beating meanwhile, as in a long statement.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from scout.cli import main
from scout.config import Settings
from scout.db import connect
from scout.jobs.leases import ABANDONED, effective_status
from scout.jobs.runs import JobFailed, beat, get_run, now_utc, record_start, run_job
from scout.montecarlo import job as montecarlo, model, runs

#: The lease of the children and of the reads after them: short, so the tests wait about a second.
LEASE = 1.0

#: ``python -m scout ARGS`` whose stderr pauses for good after the first line containing argv[1].
PAUSING_CLI = r"""
import runpy, sys, time
pause_on, sys.argv = sys.argv[1], ["scout", *sys.argv[2:]]


class StderrThatStops:
    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        written = self._stream.write(text)
        if pause_on in text:
            self._stream.write("\n")
            self._stream.flush()
            time.sleep(600)
        return written

    def __getattr__(self, name):
        return getattr(self._stream, name)


sys.stderr = StderrThatStops(sys.stderr)
runpy.run_module("scout", run_name="__main__")
"""


# -- the lease, as a pure rule ------------------------------------------------------------------------------


def test_a_run_under_way_is_abandoned_once_its_last_sign_of_life_is_older_than_the_lease():
    now = now_utc()
    quiet = {
        "status": "running",
        "started_at": now - timedelta(minutes=10),
        "heartbeat_at": now - timedelta(seconds=90),
    }

    assert effective_status(quiet, now, 60) == ABANDONED
    assert effective_status(quiet, now, 120) == "running"
    assert effective_status({**quiet, "status": "succeeded"}, now, 60) == "succeeded"  # an ended run stays ended
    assert effective_status({**quiet, "started_at": now - timedelta(seconds=5)}, now, 60) == "running"  # taken over
    assert effective_status({"status": "queued", "started_at": now - timedelta(seconds=61)}, now, 60) == ABANDONED
    monte_carlo = {
        "status": "processing",
        "created_at": now - timedelta(hours=1),
        "updated_at": now - timedelta(seconds=2),
    }
    assert effective_status(monte_carlo, now, 1) == ABANDONED and effective_status(monte_carlo, now, 5) == "processing"


# -- job runs in one process ---------------------------------------------------------------------------------


@pytest.fixture
def short_lease(migrated, monkeypatch):
    monkeypatch.setenv("SCOUT_RUN_LEASE_SECONDS", str(LEASE))
    return Settings.from_env()


def test_a_job_busy_in_one_long_step_keeps_beating_and_shows_its_stage(short_lease):
    seen = []

    def body(ctx):
        ctx.progress("scoring everything in one statement")
        time.sleep(3 * LEASE)  # one long statement: the job's own connection is busy all along
        with connect(short_lease) as other:
            seen.append(get_run(other, ctx.run_id, lease_seconds=LEASE))
        return {}

    run_job("personas.infer", "cli", body, settings=short_lease)

    [during] = seen
    assert during["status"] == "running" and during["stage"] == "scoring everything in one statement"
    assert now_utc() - during["heartbeat_at"] < timedelta(seconds=LEASE)


def test_the_next_run_of_a_job_fails_its_abandoned_runs_with_their_last_stage(short_lease):
    long_ago = now_utc() - timedelta(minutes=5)
    with connect(short_lease) as db:
        for run_id, job in (("dead-export", "exports.flat"), ("dead-infer", "personas.infer")):
            record_start(db, run_id, job, "cli", long_ago)
            beat(db, run_id, "exporting 3,000 transactions", now=long_ago)
        record_start(db, "live-export", "exports.flat", "queue", long_ago)
        beat(db, "live-export", "writing csv")  # another export still at work

    run_job("exports.flat", "cli", lambda _ctx: {}, settings=short_lease)

    with connect(short_lease) as db:
        dead, other_job, live = (get_run(db, r, lease_seconds=60) for r in ("dead-export", "dead-infer", "live-export"))
    assert dead["status"] == "failed" and dead["finished_at"] is not None
    assert dead["error"].startswith("abandoned: no heartbeat since") and dead["error"].endswith(
        "last stage: exporting 3,000 transactions"
    )
    assert (other_job["status"], other_job["finished_at"]) == (ABANDONED, None)  # the next infer's business
    assert live["status"] == "running"


def test_jobs_list_and_show_never_say_running_for_a_dead_run(short_lease, capsys):
    with connect(short_lease) as db:
        record_start(db, "dead-run", "personas.infer", "cli", now_utc() - timedelta(seconds=3))
        beat(db, "dead-run", "scoring with 12 active rules", now=now_utc() - timedelta(seconds=2))

    assert main(["jobs", "show", "dead-run", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert main(["jobs", "list", "--job", "personas.infer", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["runs"]

    assert shown["status"] == listed["status"] == ABANDONED
    assert shown["stage"] == "scoring with 12 active rules"
    assert "last stage: scoring with 12 active rules" in shown["error"]


@pytest.mark.parametrize("limit", ["-1", "0", "1001", "ten", "1e3"])
def test_jobs_list_refuses_a_limit_out_of_range_in_one_line_with_exit_2(migrated, capsys, limit):
    with pytest.raises(SystemExit) as exit_:
        main(["jobs", "list", "--limit", limit])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("scout: argument --limit: must be a whole number from 1 to 1000")
    assert err.count("\n") == 1


def test_jobs_list_with_a_limit_in_range_lists_that_many(migrated, capsys):
    assert main(["jobs", "list", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["runs"]) == 1  # migrate apply recorded one run


def test_the_job_status_endpoint_reports_a_dead_run_abandoned(short_lease, functions):
    from tests.conftest import call_http

    with connect(short_lease) as db:
        record_start(db, "dead-queued", "exports.flat", "http", now_utc() - timedelta(seconds=5), status="queued")

    status, body, _ = call_http(functions, "job_status", route_params={"run_id": "dead-queued"})

    assert status == 200 and body["status"] == ABANDONED and body["error"].endswith("last stage: none recorded")


# -- leftovers of killed exports -------------------------------------------------------------------------------

#: A process that opens a staging folder through the destination, as an export does, says where, then waits.
STAGING_HOLDER = r"""
import sys, time
from scout.config import Settings
from scout.exports.destinations import destination_for
destination = destination_for(sys.argv[1], Settings.from_env())
staging = destination.new_staging(sys.argv[2])
(staging / "scout_flat_export.csv").write_text("Transaction_ID\n")
print(staging, flush=True)
time.sleep(600)
"""


def holding_staging(out, run_id, env):
    """A child process holding a staging folder of ``out``; returns (process, folder)."""
    child = subprocess.Popen(
        [sys.executable, "-c", STAGING_HOLDER, out, run_id], stdout=subprocess.PIPE, text=True, env=env
    )
    return child, Path(child.stdout.readline().strip())


def age(path, seconds):
    """Make ``path`` and everything in it look untouched for ``seconds``."""
    then = time.time() - seconds
    for item in [path, *path.rglob("*")]:
        os.utime(item, (then, then))


def test_an_export_removes_what_killed_exports_left_but_never_a_live_ones_staging(short_lease, tmp_path):
    from scout.exports.destinations import destination_for

    out = str(tmp_path / "exports")
    env = {**os.environ, "SCOUT_RUN_LEASE_SECONDS": str(LEASE)}
    killed, leftover = holding_staging(out, "deadbeef-run", env)
    live, working = holding_staging(out, "a1b2c3d4-run", env)
    try:
        killed.kill()
        killed.wait()
        flat = leftover.parent
        stale_pointer, fresh_pointer = flat / ".latest.json.20250101T000000Z_deadbeef.tmp", flat / ".latest.json.x.tmp"
        stale_pointer.write_text("{}")
        fresh_pointer.write_text("{}")
        for path in (leftover, working, stale_pointer):
            age(path, 10 * LEASE)  # both staging folders quiet for long: only their owners tell them apart

        destination = destination_for(out, short_lease)
        staging = destination.new_staging("feedface-run")
        published = destination.publish(staging, "20250102T000000Z_feedface", {"run_id": "feedface-run"})

        assert not leftover.exists() and not stale_pointer.exists()
        assert working.is_dir() and (working / "scout_flat_export.csv").exists()  # its export is alive
        assert fresh_pointer.exists()  # written a moment ago: it may be a live export's
        assert Path(published).is_dir() and destination.latest()["run_id"] == "feedface-run"
    finally:
        for child in (killed, live):
            child.kill()
            child.wait()


def test_a_blob_export_removes_the_local_staging_a_killed_blob_export_left(short_lease, azurite, monkeypatch, tmp_path):
    import tempfile

    from scout.exports.destinations import destination_for

    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    settings = Settings.from_env()
    endpoint = dict(p.split("=", 1) for p in azurite.split(";") if "=" in p)["BlobEndpoint"]
    out = f"{endpoint}/leases"
    killed, leftover = holding_staging(out, "deadbeef-run", dict(os.environ))
    killed.kill()
    killed.wait()
    age(leftover, 10 * LEASE)
    assert leftover.is_relative_to(tmp_path / "tmp")

    destination = destination_for(out, settings)
    staging = destination.new_staging("feedface-run")
    (staging / "scout_flat_export.csv").write_text("Transaction_ID\n")
    destination.publish(staging, "20250102T000000Z_feedface", {"run_id": "feedface-run"})

    assert not leftover.exists() and not staging.exists()
    assert destination.latest()["run_id"] == "feedface-run"


# -- Monte Carlo: conflicts stay inside the batch, resume from the stored batches -------------------------------

EIGHT_BATCHES = {"iterations": 8 * model.CHUNK, "batches": 8, "horizon_days": 2}


@pytest.fixture
def history(short_lease):
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=1000, seed=3, settings=short_lease)
    return short_lease


def test_batches_of_one_run_in_one_process_never_raise_a_write_conflict_to_the_queue(history, monkeypatch):
    """Eight deliveries at once on DuckDB conflict on the run's row; each is retried inside its batch, so no
    delivery is spent (raising would count against maxDequeueCount and lead to the poison queue)."""
    from tests.concurrency import at_once

    monkeypatch.setattr(runs, "STORE_ATTEMPTS", 1)  # every conflict of a store reaches the queue function
    with connect(history) as db:
        run = runs.create_run(db, montecarlo.parse_scenario({**EIGHT_BATCHES, "seed": 12}), trigger="queue")
    messages = [json.dumps({"run_id": run["run_id"], "batch": b}) for b in range(8)]

    at_once(history, lambda _db, b: montecarlo.run_queued_batch(messages[b], settings=history), 8)

    done = montecarlo.show(run["run_id"], settings=history)
    assert (done["status"], done["batches_done"], done["combine_claims"]) == ("completed", 8, 1)


def store_some(settings, scenario, batches):
    """A run whose process stored ``batches`` and died (its last sign of life before the lease)."""
    with connect(settings) as db:
        run = runs.create_run(db, montecarlo.parse_scenario(scenario), trigger="cli")
        for b in batches:
            runs.store_partial(db, run["run_id"], b, *runs.simulate(run, b))
        long_ago = now_utc() - timedelta(seconds=5 * LEASE)
        db.execute(
            "UPDATE results.montecarlo_runs SET created_at = ?, updated_at = ? WHERE run_id = ?",
            (long_ago, long_ago, run["run_id"]),
        )
    return run


def test_a_resume_simulates_only_the_missing_batches_and_equals_an_uninterrupted_run(history):
    scenario = {**EIGHT_BATCHES, "seed": 21}
    run = store_some(history, scenario, [0, 3, 5])
    shown = montecarlo.show(run["run_id"], settings=history)
    assert (shown["status"], shown["stage"]) == (ABANDONED, "simulating 3/8 batches")
    said = []

    resumed = montecarlo.resume_local(run["run_id"], settings=history, progress=said.append)

    assert said[0] == f"run {run['run_id']}: resuming with 3/8 batches stored, simulating 5"
    assert said[1:] == [montecarlo._bar(n, 8) for n in range(4, 9)]
    assert (resumed["status"], resumed["batches_done"], resumed["combine_claims"]) == ("completed", 8, 1)
    whole = montecarlo.run_local(scenario, settings=history)
    assert resumed["results"]["revenue"] == whole["results"]["revenue"]
    assert resumed["results"]["daily_fan"] == whole["results"]["daily_fan"]


def test_a_run_with_every_batch_stored_but_never_combined_is_combined_by_the_resume(history):
    run = store_some(history, {**EIGHT_BATCHES, "seed": 22}, range(8))

    resumed = montecarlo.resume_local(run["run_id"], settings=history)

    assert (resumed["status"], resumed["combine_claims"], resumed["combiner_batch"]) == (
        "completed",
        1,
        runs.RESUME_BATCH,
    )
    with connect(history) as db:
        assert get_run(db, run["run_id"], lease_seconds=LEASE)["status"] == "succeeded"


def test_a_resume_refuses_a_live_run_and_a_failed_one(history, capsys):
    live = store_some(history, {**EIGHT_BATCHES, "seed": 23}, [0])
    with connect(history) as db:
        runs.touch(db, live["run_id"])  # its process is alive after all
        failed = runs.create_run(db, montecarlo.parse_scenario({**EIGHT_BATCHES, "seed": 24}), trigger="cli")
        runs.fail(db, failed["run_id"], "batch 3 failed repeatedly")

    assert main(["montecarlo", "run", "--resume", live["run_id"]]) == 3
    assert "is still alive" in capsys.readouterr().err
    assert main(["montecarlo", "run", "--resume", failed["run_id"]]) == 2
    assert "cannot be resumed" in capsys.readouterr().err
    assert main(["montecarlo", "run", "--resume", live["run_id"], "--iterations", "5"]) == 2
    assert main(["montecarlo", "run", "--resume", "no-such-run"]) == 4


# -- SIGKILL at a chosen moment, then the truth ----------------------------------------------------------------


@pytest.fixture
def seeded(short_lease, tmp_path, monkeypatch):
    """A database with 3,000 demo transactions, and the environment of the children (the same settings)."""
    from scout.demo import job as demo

    monkeypatch.setenv("SCOUT_EXPORT_DESTINATION", str(tmp_path / "exports"))
    demo.seed(trigger="cli", transactions=3000, seed=9, settings=short_lease)
    return dict(os.environ)


def parent_of(pid):
    """(parent pid, state) of a process, from /proc; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def children_of(pid):
    return [
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and (parent_of(p.name) or (None,))[0] == pid
    ]


def alive(pid):
    found = parent_of(pid)
    return found is not None and found[1] != "Z"  # a zombie is dead, only not reaped yet


def kill_at(env, pause_on, *args):
    """Run ``python -m scout ARGS``, SIGKILL it once it has printed a line containing ``pause_on`` (and had a
    moment to record that stage), and wait until everyone holding its output has let go. Returns its stderr
    lines up to then and the pids of its children at the time of the kill."""
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSING_CLI, pause_on, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in child.stderr] + [lines.put(None)], daemon=True
    )
    reader.start()
    said, children = [], []
    try:
        while not said or pause_on not in said[-1]:
            line = lines.get(timeout=60)
            assert line is not None, f"the child ended before {pause_on!r}: {''.join(said)}"
            said.append(line)
        time.sleep(LEASE / 2)  # the heartbeat records the stage (it beats every LEASE / 5)
        children = children_of(child.pid)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
        assert not reader.is_alive(), "something still holds the killed run's output open"
        deadline = time.monotonic() + 5
        while any(alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        return said, children
    finally:
        for pid in [child.pid, *children]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def cli_json(capsys, *args):
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def newest_run(capsys, job):
    [run] = cli_json(capsys, "jobs", "list", "--job", job, "--limit", "1")["runs"]
    return run


def test_a_killed_export_is_reported_abandoned_and_the_next_export_succeeds_and_tidies_up(seeded, capsys, tmp_path):
    kill_at(seeded, "exporting 3,000 transactions", "export", "flat")
    time.sleep(LEASE + 0.2)
    leftovers = list((tmp_path / "exports" / "flat").glob(".staging-*"))

    killed = cli_json(capsys, "jobs", "show", newest_run(capsys, "exports.flat")["run_id"])
    export = cli_json(capsys, "export", "flat")

    assert killed["status"] == ABANDONED and killed["stage"].startswith("exporting 3,000 transactions to ")
    assert export["export_rows"] == 3000 and len(leftovers) == 1 and not leftovers[0].exists()
    again = cli_json(capsys, "jobs", "show", killed["run_id"])
    assert again["status"] == "failed" and again["error"].endswith(f"last stage: {killed['stage']}")


def test_a_killed_inference_is_reported_abandoned_and_the_next_one_scores_everything(seeded, capsys):
    kill_at(seeded, "scoring with", "personas", "infer")
    time.sleep(LEASE + 0.2)

    killed = newest_run(capsys, "personas.infer")
    inferred = cli_json(capsys, "personas", "infer")

    assert killed["status"] == ABANDONED and killed["stage"].startswith("scoring with")
    assert inferred["scored"] == 3000  # the killed run's scoring was rolled back whole
    assert all(r["status"] != "running" for r in cli_json(capsys, "jobs", "list")["runs"])


def test_a_killed_monte_carlo_run_leaves_no_worker_is_reported_abandoned_and_resumes(seeded, capsys):
    said, workers = kill_at(
        seeded,
        "2/8 batches",
        "montecarlo",
        "run",
        "--iterations",
        "80000",
        "--batches",
        "8",
        "--horizon-days",
        "7",
        "--seed",
        "5",
    )
    run_id = next(line for line in said if line.startswith("run ")).split()[1].rstrip(":")
    time.sleep(LEASE + 0.2)

    shown = cli_json(capsys, "montecarlo", "show", run_id)
    recorded = cli_json(capsys, "jobs", "show", run_id)
    resumed = cli_json(capsys, "montecarlo", "run", "--resume", run_id)

    assert len(workers) == 4 and not any(alive(p) for p in workers)
    assert (shown["status"], shown["stage"], shown["percent"]) == (ABANDONED, "simulating 2/8 batches", 25)
    assert recorded["status"] == ABANDONED and recorded["stage"] == "simulating 2/8 batches"
    assert resumed["status"] == "completed" and resumed["batches_done"] == 8
    whole = montecarlo.run_local({"iterations": 80000, "batches": 8, "horizon_days": 7, "seed": 5})
    assert resumed["results"]["revenue"] == whole["results"]["revenue"]
    assert cli_json(capsys, "jobs", "show", run_id)["status"] == "succeeded"


def test_a_failed_job_body_still_stops_its_heartbeat(short_lease):
    def body(ctx):
        ctx.progress("about to fail")
        raise RuntimeError("broken")

    with pytest.raises(JobFailed):
        run_job("personas.infer", "cli", body, settings=short_lease)
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]


def test_the_lease_statements_are_portable_tsql():
    """Some of these are sent only when a run died (``scout sql render`` never sees them): checked here as
    render's statements are, by our lint and by sqlfluff's T-SQL grammar, and translated for DuckDB."""
    from scout.db.translate import tsql_statement_to_duckdb
    from scout.jobs import runs as job_runs
    from scout.sql.lint import lint_batch
    from tests.test_sql_sqlfluff import as_server_receives, parse_problems

    statements = {
        "jobs._BEAT": job_runs._BEAT,
        "jobs._HEARTBEAT_COLUMNS": f"SELECT run_id{job_runs._HEARTBEAT_COLUMNS} FROM ops.job_runs",
        "jobs._SELECT_SILENT": job_runs._SELECT_SILENT,
        "jobs._FAIL_SILENT": job_runs._FAIL_SILENT,
        "montecarlo._TOUCH": runs._TOUCH,
        "montecarlo._TAKE_OVER": runs._TAKE_OVER,
        "montecarlo._STORED_BATCHES": runs._STORED_BATCHES,
        "montecarlo._BEAT_JOB_RUN": runs._BEAT_JOB_RUN,
    }
    for name, statement in statements.items():
        assert not [str(e) for e in lint_batch(name, 1, statement, portable=True) if e.is_error], name
        assert parse_problems(as_server_receives(statement)) == (), name
        assert tsql_statement_to_duckdb(statement), name
