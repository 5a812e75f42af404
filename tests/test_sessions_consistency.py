"""Results sessions never mix topics (issue 15, finding 1): a session has one topic at a time, each segment is
stamped with the generation, topic and run that wrote it, and the results of a superseded run are never
served; generates of one session at the same time are serialised: one wins, the others answer 409 with the
winning run, and a loser starts no run."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from scout.db import connect
from scout.montecarlo import BATCH_QUEUE, job
from scout.results import sessions
from tests.concurrency import at_once
from tests.conftest import call_http
from tests.test_results_v3 import get, session_env  # noqa: F401 - session_env is a fixture used below


def generate(functions, session_id, topic):
    status, body, _ = call_http(
        functions, "results_generate", "POST", route_params={"session_id": session_id, "topic": topic}
    )
    return status, body


def queued_messages(settings):
    """Every batch message on the queue, taken (invisible for a minute) but not deleted: (run_id, message)."""
    from scout.storage import queue_client

    queue = queue_client(settings, BATCH_QUEUE)
    taken = []
    while batch := list(queue.receive_messages(max_messages=32, visibility_timeout=60)):
        taken.extend(batch)
    return queue, [(json.loads(m.content)["run_id"], m) for m in taken]


def deliver(settings, queue, messages, run_id):
    """Run the batches of one run, as the queue function does, and remove their messages."""
    for owner, message in messages:
        if owner == run_id:
            job.run_queued_batch(message.content, settings=settings)
            queue.delete_message(message)


def stored_segments(settings, session_id):
    with connect(settings) as db:
        [generation] = db.query_one(
            "SELECT generation FROM results.generation_status WHERE session_id = ?", (session_id,)
        )
        rows = db.query(
            "SELECT segment, generation, topic, run_id FROM results.segment_results "
            "WHERE session_id = ? ORDER BY segment",
            (session_id,),
        )
    return generation, rows


def transactions_in(settings, region):
    with connect(settings) as db:
        return db.query_one(
            "SELECT COUNT(*) FROM dbo.Transactions AS t JOIN dbo.Stores AS s "
            "ON s.store_id = t.store_id WHERE s.region = ?",
            (region,),
        )[0]


# -- one topic at a time -----------------------------------------------------------------------------------


def test_ncr_then_car_then_ncrs_batches_finish_the_session_serves_car_only(session_env, functions):  # noqa: F811
    status, ncr = generate(functions, "s1", "region:NCR")
    assert status == 202 and ncr["topic"] == "region:NCR"
    status, car = generate(functions, "s1", "region:CAR")  # NCR's run is still processing: CAR replaces it
    assert status == 202 and car["topic"] == "region:CAR" and car["run_id"] != ncr["run_id"]

    queue, messages = queued_messages(session_env)
    assert {owner for owner, _ in messages} == {ncr["run_id"], car["run_id"]}
    deliver(session_env, queue, messages, ncr["run_id"])  # NCR's batches finish, after CAR was asked for
    assert job.show(ncr["run_id"], settings=session_env)["status"] == "completed"

    _, state = get(functions, "results_status", session_id="s1")
    assert (state["topic"], state["state"], state["run_id"]) == ("region:CAR", "processing", car["run_id"])
    assert state["ready"] == ["Brand", "Consumer", "Experience"]
    for name in ("Market", "Product"):  # NCR's completed numbers are never served as CAR's
        status, body = get(functions, "results_segment", session_id="s1", segment=name)
        assert status == 404 and "not ready (state processing)" in body["message"]
    _, everything = get(functions, "results_complete", session_id="s1")
    assert everything["topic"] == "region:CAR" and everything["segments"]["Market"] is None
    consumer = everything["segments"]["Consumer"]
    assert (consumer["topic"], consumer["run_id"]) == ("region:CAR", car["run_id"])
    assert consumer["transactions"] == transactions_in(session_env, "CAR") != transactions_in(session_env, "NCR")

    deliver(session_env, queue, messages, car["run_id"])

    _, state = get(functions, "results_status", session_id="s1")
    assert (state["topic"], state["state"], state["percent"]) == ("region:CAR", "completed", 100)
    _, market = get(functions, "results_segment", session_id="s1", segment="Market")
    car_run = job.show(car["run_id"], settings=session_env)
    assert (market["topic"], market["run_id"]) == ("region:CAR", car["run_id"])
    assert market["revenue"] == car_run["results"]["revenue"]
    assert market["revenue"] != job.show(ncr["run_id"], settings=session_env)["results"]["revenue"]
    _, everything = get(functions, "results_complete", session_id="s1")
    assert {(s["topic"], s["run_id"]) for s in everything["segments"].values()} == {("region:CAR", car["run_id"])}
    generation, rows = stored_segments(session_env, "s1")
    assert rows == [(name, generation, "region:CAR", car["run_id"]) for name in ("Brand", "Consumer", "Experience")]


def test_a_segment_stamped_with_another_generation_is_never_served(session_env, functions):  # noqa: F811
    """Whatever lands late in the table (a writer of a superseded generation), reads check the stamp."""
    generate(functions, "stamp", "region:NCR")
    _, ncr_brand = get(functions, "results_segment", session_id="stamp", segment="Brand")
    ncr_generation, _ = stored_segments(session_env, "stamp")
    generate(functions, "stamp", "region:CAR")
    with connect(session_env) as db, db.transaction():
        db.execute(
            "UPDATE results.segment_results SET payload = ?, generation = ?, topic = 'region:NCR' "
            "WHERE session_id = 'stamp' AND segment = 'Brand'",
            (json.dumps(ncr_brand), ncr_generation),
        )

    status, body = get(functions, "results_segment", session_id="stamp", segment="Brand")
    assert status == 404 and "not ready" in body["message"]
    _, state = get(functions, "results_status", session_id="stamp")
    assert state["topic"] == "region:CAR" and state["ready"] == ["Consumer", "Experience"]
    _, everything = get(functions, "results_complete", session_id="stamp")
    assert everything["segments"]["Brand"] is None
    assert {s["topic"] for s in everything["segments"].values() if s} == {"region:CAR"}


def test_a_session_written_before_generations_existed_is_served_then_replaced(session_env, functions):  # noqa: F811
    """Rows written before V023 have no generation (nor have their segments): they still match each other."""
    with connect(session_env) as db, db.transaction():
        db.execute(
            "INSERT INTO results.generation_status (session_id, topic, [state], [percent], stage, run_id, "
            "error, updated_at) VALUES ('legacy', 'all', 'failed', 10, 'failed', NULL, 'old', ?)",
            (sessions.now_utc(),),
        )
        db.execute(
            "INSERT INTO results.segment_results (session_id, segment, payload, computed_at) "
            'VALUES (\'legacy\', \'Brand\', \'{"segment": "Brand", "topic": "all"}\', ?)',
            (sessions.now_utc(),),
        )
    assert get(functions, "results_segment", session_id="legacy", segment="Brand")[1]["topic"] == "all"

    status, replaced = generate(functions, "legacy", "region:CAR")
    assert status == 202 and replaced["topic"] == "region:CAR"
    assert get(functions, "results_segment", session_id="legacy", segment="Brand")[1]["topic"] == "region:CAR"


# -- concurrent generates ----------------------------------------------------------------------------------


@pytest.fixture
def slow_start(monkeypatch):
    """Starting a run takes a second (a slow storage queue), so requests sent together overlap it."""
    import scout.storage

    real = scout.storage.queue_client

    def slow_queue_client(settings, name, **kwargs):
        time.sleep(1.0)
        return real(settings, name, **kwargs)

    monkeypatch.setattr(scout.storage, "queue_client", slow_queue_client)


def runs_of(settings, session_id):
    with connect(settings) as db:
        return [
            r[0] for r in db.query("SELECT run_id FROM results.montecarlo_runs WHERE session_id = ?", (session_id,))
        ]


def test_three_generates_at_once_one_wins_the_others_get_409_with_its_run(
    session_env,  # noqa: F811
    functions,
    slow_start,
):
    topics = ["region:NCR", "region:CAR", "all"]
    answers = at_once(session_env, lambda _db, i: generate(functions, "race", topics[i]), 3)

    assert sorted(status for status, _ in answers) == [202, 409, 409]  # never a 503 or a raw database error
    [won] = [body for status, body in answers if status == 202]
    for lost in (body for status, body in answers if status == 409):
        assert lost["error"] == "conflict" and lost["session_id"] == "race"
        assert (lost["run_id"], lost["topic"]) == (won["run_id"], won["topic"])
    assert runs_of(session_env, "race") == [won["run_id"]]  # the losers started no run
    _, messages = queued_messages(session_env)
    assert {owner for owner, _ in messages} == {won["run_id"]}
    _, state = get(functions, "results_status", session_id="race")
    assert (state["topic"], state["run_id"], state["state"]) == (won["topic"], won["run_id"], "processing")


def test_a_generate_arriving_while_another_starts_its_run_loses_to_it(session_env, functions, monkeypatch):  # noqa: F811
    """The first generate is held inside its start (its queue answers only when let go); meanwhile the
    session shows the new topic starting, with nothing of the old topic; a second generate then loses."""
    import scout.storage

    real, let_go, answers = scout.storage.queue_client, threading.Event(), {}
    history, second_arrived = sessions.history_segments, threading.Event()
    generate(functions, "held", "all")

    def held_queue_client(settings, name, **kwargs):
        let_go.wait(30)
        return real(settings, name, **kwargs)

    def history_segments(db, scenario):  # the real one; it says when the second generate has arrived
        if scenario.name == "region:CAR":
            second_arrived.set()
        return history(db, scenario)

    monkeypatch.setattr(scout.storage, "queue_client", held_queue_client)
    monkeypatch.setattr(sessions, "history_segments", history_segments)
    first = threading.Thread(target=lambda: answers.update(first=generate(functions, "held", "region:NCR")))
    first.start()
    deadline = time.monotonic() + 20
    # it claims the session (stage: starting its run, 0 %), analyses the topic (factors, patterns, rich
    # content: the stage moves through each), then is at the start of its run again, analysed
    while True:
        _, starting = get(functions, "results_status", session_id="held")
        if (starting["topic"], starting["stage"], starting["percent"]) == (
            "region:NCR",
            sessions.STARTING,
            sessions.ANALYSED_PERCENT,
        ):
            break
        assert time.monotonic() < deadline, "the first generate never reached the start of its run"
        time.sleep(0.02)

    assert (starting["state"], starting["stage"], starting["run_id"], starting["ready"]) == (
        "processing",
        "starting its run",
        None,
        [],
    )
    assert get(functions, "results_segment", session_id="held", segment="Brand")[0] == 404  # not "all"'s Brand
    second = threading.Thread(target=lambda: answers.update(second=generate(functions, "held", "region:CAR")))
    second.start()
    assert second_arrived.wait(20)  # it has found the session starting, and goes on to wait for its lock
    let_go.set()
    first.join(30)
    second.join(30)

    (status, won), (lost_status, lost) = answers["first"], answers["second"]
    assert status == 202 and won["topic"] == "region:NCR"
    assert lost_status == 409 and (lost["run_id"], lost["topic"]) == (won["run_id"], "region:NCR")
    assert len(runs_of(session_env, "held")) == 2  # "all", then NCR; CAR started none


def test_a_generate_that_waits_too_long_for_a_starting_one_is_a_409_too(
    session_env,  # noqa: F811
    functions,
    monkeypatch,
):
    monkeypatch.setenv("SCOUT_LOCK_TIMEOUT_SECONDS", "0.2")
    with connect(session_env) as db, db.application_lock(sessions.session_lock("busy"), 5):
        sessions.claim(db, "busy", "region:NCR", None)  # a generate holding the session, starting its run
        status, lost = generate(functions, "busy", "region:CAR")

    assert status == 409 and lost["error"] == "conflict"
    assert (lost["topic"], lost["run_id"]) == ("region:NCR", None)  # its run is not started yet
    assert runs_of(session_env, "busy") == []


def test_an_analysis_that_fails_leaves_the_session_failed_saying_so_and_starts_no_run(
    session_env,  # noqa: F811
    functions,
    monkeypatch,
):
    def broken(*_args, **_kwargs):
        raise RuntimeError("factor table is locked")

    monkeypatch.setattr(sessions, "analyse_generation", broken)
    status, _ = generate(functions, "unlucky", "region:NCR")
    assert status >= 500

    _, state = get(functions, "results_status", session_id="unlucky")
    assert (state["state"], state["run_id"]) == ("failed", None)
    assert state["error"].startswith("the analysis failed: ") and "factor table is locked" in state["error"]
    assert runs_of(session_env, "unlucky") == []


def test_a_run_that_cannot_be_started_leaves_the_session_failed_not_processing(
    session_env,  # noqa: F811
    functions,
    monkeypatch,
):
    import scout.storage

    real, storage_down = scout.storage.queue_client, True
    generate(functions, "flaky", "region:NCR")

    def queue_client(settings, name, **kwargs):
        if storage_down:
            raise ConnectionError("storage is unreachable")
        return real(settings, name, **kwargs)

    monkeypatch.setattr(scout.storage, "queue_client", queue_client)
    status, _ = generate(functions, "flaky", "region:CAR")
    assert status >= 500

    _, state = get(functions, "results_status", session_id="flaky")
    assert (state["topic"], state["state"], state["run_id"]) == ("region:CAR", "failed", None)
    assert "could not be started" in state["error"] and "storage is unreachable" in state["error"]
    assert state["ready"] == []  # NCR's segments are not served as CAR's
    storage_down = False
    status, again = generate(functions, "flaky", "region:CAR")  # a failed generation is simply replaced
    assert status == 202 and again["state"] == "processing" and again["run_id"]


def test_a_generate_that_died_before_starting_its_run_is_abandoned_then_taken_over(session_env, functions):  # noqa: F811
    with connect(session_env) as db:  # claimed, then the process died: no run, and the lock went with it
        sessions.claim(db, "ghost", "region:NCR", None)
        assert get(functions, "results_status", session_id="ghost")[1]["state"] == "processing"
        with db.transaction():
            db.execute(
                "UPDATE results.generation_status SET updated_at = ? WHERE session_id = 'ghost'",
                (sessions.now_utc() - timedelta(seconds=301),),
            )

    _, state = get(functions, "results_status", session_id="ghost")
    assert (state["state"], state["stage"]) == ("abandoned", "starting its run")
    assert "stopped before starting its run" in state["error"]
    status, taken = generate(functions, "ghost", "region:CAR")
    assert status == 202 and taken["topic"] == "region:CAR" and taken["run_id"]


# -- runs that stop ----------------------------------------------------------------------------------------


def test_a_session_whose_run_went_silent_is_abandoned_at_its_stage_until_a_delivery_takes_it_over(
    session_env,  # noqa: F811
    functions,
):
    _, started = generate(functions, "quiet", "region:NCR")
    queue, messages = queued_messages(session_env)
    batches = len(messages)  # a session's run is small: one batch of 1,000 iterations
    with connect(session_env) as db, db.transaction():  # no worker took it: nothing for longer than the lease
        long_ago = sessions.now_utc() - timedelta(seconds=301)
        db.execute(
            "UPDATE results.montecarlo_runs SET created_at = ?, updated_at = ? WHERE run_id = ?",
            (long_ago, long_ago, started["run_id"]),
        )

    _, state = get(functions, "results_status", session_id="quiet")
    assert (state["state"], state["stage"], state["run_id"]) == (
        "abandoned",
        f"simulating 0/{batches} batches",
        started["run_id"],
    )
    assert state["percent"] == 10 and "no heartbeat" in state["error"]
    status, body = get(functions, "results_segment", session_id="quiet", segment="Market")
    assert status == 404 and "not ready (state abandoned)" in body["message"]

    deliver(session_env, queue, messages, started["run_id"])  # a later delivery takes the run over
    _, state = get(functions, "results_status", session_id="quiet")
    assert (state["state"], state["percent"]) == ("completed", 100)
    assert get(functions, "results_segment", session_id="quiet", segment="Market")[1]["run_id"] == started["run_id"]


# -- the rules, as pure functions -------------------------------------------------------------------------


def row(generation, run_id, state="processing"):
    return {"generation": generation, "run_id": run_id, "state": state}


@pytest.mark.parametrize(
    "seen, current, lost",
    [
        (None, None, False),  # a new session
        (None, row("g1", "r1"), True),  # another created it meanwhile, and started its run
        (row("g0", "r0"), row("g0", "r0"), False),  # a run processing: a new topic replaces it
        (row("g0", "r0", "completed"), row("g0", "r0", "completed"), False),  # finished: replaced
        (row("g0", "r0"), row("g1", "r1"), True),  # another generate claimed it while this one came
        (row("g1", None), row("g1", "r1"), True),  # that one was starting when this one arrived
        (row("g1", None), row("g1", None, "failed"), False),  # it could not start its run: this one goes on
        (row("g1", None), row("g1", None), False),  # its generate died (it would hold the lock)
        (row("g0", "r0"), None, False),  # cleared meanwhile
    ],
)
def test_which_generate_loses(seen, current, lost):
    assert sessions.lost_to(current, seen) is lost


def progress(run_status, **run):
    stored = {
        "state": "processing",
        "percent": 10,
        "stage": "simulating scenarios",
        "error": None,
        "run_id": "r1",
        "updated_at": sessions.now_utc(),
    }
    return sessions.progress_of(
        stored,
        {
            "run_id": "r1",
            "status": run_status,
            "batches_done": 3,
            "batches": 8,
            "stage": "simulating 3/8 batches",
            "error": None,
            **run,
        },
    )


def test_a_session_whose_run_stopped_is_abandoned_at_the_runs_stage():
    assert progress("abandoned") == {
        "state": "abandoned",
        "percent": 43,
        "stage": "simulating 3/8 batches",
        "error": "its Monte Carlo run r1 stopped (no heartbeat within the lease)",
    }
    assert progress("abandoned", error="heartbeat older than 300 s")["error"] == "heartbeat older than 300 s"


@pytest.mark.parametrize("run_status", ["queued", "cancelled", "resuming"])
def test_a_run_status_this_code_does_not_know_is_never_completed(run_status):
    state = progress(run_status)
    assert state["state"] == "processing" and state["percent"] < 100 and run_status in state["stage"]
