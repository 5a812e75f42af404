"""Monte Carlo scenarios: right on a case with a known answer, identical however they are split,
fanned out over a real (Azurite) queue that may redeliver or poison a batch."""

import json
import subprocess
import sys

import numpy as np
import pytest

from scout.config import Settings
from scout.db import connect
from scout.errors import InvalidInput
from scout.montecarlo import BATCH_QUEUE, job, model
from scout.montecarlo.scenario import parse_scenario
from tests.conftest import call_http


def test_poisson_counts_with_a_fixed_basket_value_match_the_closed_form():
    daily, basket, horizon = 40.0, 25.0, 30
    fitted = model.Fitted(daily, daily, basket, 0.0, 2.0, 0.0, 30, 1200)
    revenue, units, _ = model.simulate_batch(fitted, horizon, 1234, model.chunks_of(50_000))
    truth = daily * basket * horizon  # E[sum of Poisson counts] x fixed basket value
    standard_error = revenue.std(ddof=1) / np.sqrt(len(revenue))
    assert abs(revenue.mean() - truth) < 4 * standard_error
    assert abs(revenue.std() - basket * np.sqrt(daily * horizon)) / (basket * np.sqrt(daily * horizon)) < 0.02
    assert np.allclose(units, revenue / basket * 2.0)


def test_over_dispersed_history_uses_the_negative_binomial_with_its_variance():
    counts = np.array([10, 50, 5, 80, 20, 60, 15, 40] * 4, dtype=float)
    fitted = model.fit(counts, np.full(100, 10.0), np.full(100, 1.0), stores=1)
    assert fitted.over_dispersed
    revenue, _, _ = model.simulate_batch(fitted, 1, 7, model.chunks_of(40_000))
    assert abs(np.var(revenue / 10.0) / counts.var() - 1) < 0.1


@pytest.mark.parametrize("batches", [1, 3, 8])
def test_the_same_seed_gives_identical_numbers_whatever_the_number_of_batches(batches):
    fitted = model.Fitted(30.0, 45.0, 70.0, 900.0, 3.0, 4.0, 30, 900)
    whole = model.simulate_batch(fitted, 14, 99, model.chunks_of(100_000))
    parts = [model.simulate_batch(fitted, 14, 99, chunks) for chunks in model.batch_plan(100_000, batches)]
    assert len(parts) == batches
    assert np.array_equal(whole[0], np.concatenate([p[0] for p in parts]))
    assert np.array_equal(whole[1], np.concatenate([p[1] for p in parts]))


@pytest.fixture
def history(migrated):
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=2000, seed=5, settings=migrated)
    return migrated


def test_a_local_run_in_a_process_pool_equals_a_single_batch_run(history):
    scenario = {"iterations": 25_000, "horizon_days": 10, "seed": 11, "segment": {"region": "NCR"}, "target": 20000}
    pooled = job.run_local({**scenario, "batches": 3}, settings=history)
    single = job.run_local({**scenario, "batches": 1}, settings=history)
    assert pooled["status"] == single["status"] == "completed" and pooled["batches"] == 3
    for key in ("revenue", "units", "histogram", "probability_above_target", "daily_fan"):
        assert pooled["results"][key] == single["results"][key]
    with connect(history) as db:
        assert db.query_one("SELECT status FROM ops.job_runs WHERE run_id = ?", (pooled["run_id"],))[0] == "succeeded"


def test_levers_move_the_outcome_the_right_way(history):
    base = {"iterations": 2000, "horizon_days": 7, "seed": 3}
    plain = job.run_local(base, settings=history)["results"]["revenue"]["mean"]
    promo = job.run_local({**base, "promo_uplift_pct": 20}, settings=history)["results"]["revenue"]["mean"]
    fewer = job.run_local({**base, "store_change": -24}, settings=history)["results"]["revenue"]["mean"]
    assert promo > plain * 1.15 and fewer < plain * 0.6


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"iterations": 0}, "iterations must be between"),
        ({"iterations": 2_000_000}, "iterations must be between"),
        ({"horizon_days": 0}, "horizon_days must be at least 1"),
        ({"segment": {"planet": "Mars"}}, "unknown segment key"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_scenarios_are_refused_before_any_work(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_scenario(raw)


def test_an_unknown_segment_value_suggests_the_valid_ones(history):
    with pytest.raises(InvalidInput, match="unknown region 'NRC'; did you mean: .*NCR"):
        job.run_local({"segment": {"region": "NRC"}}, settings=history)
    with connect(history) as db:
        assert db.query_one("SELECT COUNT(*) FROM results.montecarlo_runs")[0] == 0


def test_an_empty_history_is_a_clear_error(migrated):
    with pytest.raises(InvalidInput, match="no transaction history"):
        job.run_local({}, settings=migrated)


def test_cli_runs_a_scenario_and_exits_2_on_bad_input(history):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scout",
            "montecarlo",
            "run",
            "--iterations",
            "3000",
            "--seed",
            "1",
            "--segment",
            "category=Snacks",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "completed" and "batches" in done.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "scout", "montecarlo", "show", run["run_id"], "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(shown.stdout)["results"]["revenue"] == run["results"]["revenue"]
    bad = subprocess.run(
        [sys.executable, "-m", "scout", "montecarlo", "run", "--horizon-days", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("scout: horizon_days")


@pytest.fixture
def queued(history, azurite, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    settings = Settings.from_env()
    from scout.storage import queue_client

    for name in (BATCH_QUEUE, f"{BATCH_QUEUE}-poison"):
        queue_client(settings, name).clear_messages()
    return settings


def receive(settings, queue=BATCH_QUEUE):
    from scout.storage import queue_client

    client = queue_client(settings, queue)
    messages = list(client.receive_messages(max_messages=32, visibility_timeout=30))
    for m in messages:
        client.delete_message(m)
    return [m.content for m in messages]


def test_batches_fan_out_over_the_queue_and_a_redelivered_batch_counts_once(queued, functions):
    status, body, response = call_http(
        functions,
        "montecarlo_start",
        "POST",
        "http://host/api/montecarlo/runs",
        body=json.dumps({"iterations": 30_000, "batches": 3, "seed": 8}),
    )
    assert status == 202 and response.headers["Location"].endswith(f"/api/montecarlo/runs/{body['run_id']}")
    messages = receive(queued)
    assert len(messages) == 3

    job.run_queued_batch(messages[0], settings=queued)
    job.run_queued_batch(messages[0], settings=queued)  # the queue delivers it again
    _, progress, _ = call_http(functions, "montecarlo_status", route_params={"run_id": body["run_id"]})
    assert progress["status"] == "processing" and progress["batches_done"] == 1 and progress["percent"] == 33
    assert progress["results"] is None

    for message in messages[1:]:
        job.run_queued_batch(message, settings=queued)
    _, finished, _ = call_http(functions, "montecarlo_status", route_params={"run_id": body["run_id"]})
    assert finished["status"] == "completed" and finished["percent"] == 100
    local = job.run_local({"iterations": 30_000, "batches": 1, "seed": 8}, settings=queued)
    assert finished["results"]["revenue"] == local["results"]["revenue"]  # queue and pool agree

    status, png, response = call_http(functions, "montecarlo_chart", route_params={"run_id": body["run_id"]})
    assert status == 200 and response.mimetype == "image/png" and response.get_body().startswith(b"\x89PNG")


def test_a_batch_in_the_poison_queue_fails_its_run_with_the_reason(queued):
    from scout.storage import queue_client

    run = job.submit({"iterations": 20_000, "batches": 2, "seed": 2}, settings=queued)
    first, second = receive(queued)
    job.run_queued_batch(first, settings=queued)
    queue_client(queued, f"{BATCH_QUEUE}-poison").send_message(second)  # what the host does after 5 tries
    [poisoned] = receive(queued, f"{BATCH_QUEUE}-poison")
    job.poisoned_batch(poisoned, settings=queued)

    failed = job.show(run["run_id"], settings=queued)
    assert failed["status"] == "failed" and "batch 1 failed repeatedly" in failed["error"]
    assert job.run_queued_batch(second, settings=queued) is None  # a late delivery changes nothing
    with connect(queued) as db:
        assert db.query_one("SELECT status FROM ops.job_runs WHERE run_id = ?", (run["run_id"],))[0] == "failed"


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"iterations": -5}', "iterations must be between"),
        ("[1]", "must be a JSON object"),
        ('{"segment": {"region": "Atlantis"}}', "unknown region"),
    ],
)
def test_bad_runs_over_http_are_400_json(queued, functions, body, message):
    status, payload, _ = call_http(functions, "montecarlo_start", "POST", body=body)
    assert status == 400 and message in payload["message"]
    assert receive(queued) == []


def test_an_unknown_run_is_404_json(migrated, functions):
    status, payload, _ = call_http(functions, "montecarlo_status", route_params={"run_id": "nope"})
    assert status == 404 and payload["error"] == "not_found"


def test_a_submit_whose_batches_cannot_all_be_queued_fails_its_run_in_the_same_call(history, monkeypatch):
    """The run is recorded, one batch goes out, then storage is gone: nothing is left processing (the run
    could never complete), the caller hears it within seconds, and the batch that went out changes nothing."""
    import time

    import scout.storage
    from scout.storage import StorageUnavailable
    from tests.conftest import PrivateAzurite

    storage = PrivateAzurite()
    try:
        monkeypatch.setenv("AzureWebJobsStorage", storage.connection_string)
        settings = Settings.from_env()
        real_queue_client, sent = scout.storage.queue_client, []

        def queue_going_down_after_one_message(*args, **kwargs):
            client = real_queue_client(*args, **kwargs)
            send = client.send_message

            def send_then_outage(message, **options):
                answer = send(message, **options)
                sent.append(message)
                storage.stop()
                return answer

            client.send_message = send_then_outage
            return client

        monkeypatch.setattr(scout.storage, "queue_client", queue_going_down_after_one_message)
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as failure:
            job.submit({"iterations": 30_000, "batches": 3, "seed": 8}, settings=settings)

        assert time.monotonic() - started < 10 and failure.value.sent == 1
        run = job.show(failure.value.run_id, settings=settings)
        assert run["status"] == "failed"
        assert run["error"].startswith("could not enqueue its batches: storage unavailable")
        with connect(settings) as db:
            assert db.query_one("SELECT status FROM ops.job_runs WHERE run_id = ?", (run["run_id"],))[0] == "failed"
        assert job.run_queued_batch(sent[0], settings=settings) is None  # the batch that went out: nothing to do
    finally:
        storage.stop()


def test_starting_a_run_over_http_with_storage_down_is_a_fast_503_and_records_nothing(history, functions, monkeypatch):
    import socket
    import time

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nobody listens there once it is closed
    account = "AccountName=devstoreaccount1;AccountKey=a2V5"
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        f"DefaultEndpointsProtocol=http;{account};QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
    )
    started = time.monotonic()
    status, body, response = call_http(
        functions,
        "montecarlo_start",
        "POST",
        "http://host/api/montecarlo/runs",
        body=json.dumps({"iterations": 20_000, "batches": 2}),
    )

    assert time.monotonic() - started < 10
    assert status == 503 and response.headers["Retry-After"] == "30" and body["error"] == "storage_unavailable"
    with connect(history) as db:
        assert db.query_one("SELECT COUNT(*) FROM results.montecarlo_runs")[0] == 0


def test_a_stored_run_silent_for_longer_than_the_lease_shows_abandoned_over_http(history, functions, monkeypatch):
    from datetime import timedelta

    from scout.jobs.runs import now_utc
    from scout.montecarlo import runs

    with connect(history) as db:
        run = runs.create_run(db, parse_scenario({"iterations": 20_000, "batches": 2}), trigger="cli")
        db.execute(
            "UPDATE results.montecarlo_runs SET created_at = ?, updated_at = ? WHERE run_id = ?",
            (now_utc() - timedelta(seconds=10), now_utc() - timedelta(seconds=10), run["run_id"]),
        )
    monkeypatch.setenv("SCOUT_RUN_LEASE_SECONDS", "5")

    _, shown, _ = call_http(functions, "montecarlo_status", route_params={"run_id": run["run_id"]})

    assert (shown["status"], shown["stage"], shown["results"]) == ("abandoned", "simulating 0/2 batches", None)
    assert "last stage: simulating 0/2 batches" in shown["error"]
