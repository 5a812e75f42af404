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


@pytest.mark.parametrize("raw, message", [
    ({"iterations": 0}, "iterations must be between"),
    ({"iterations": 2_000_000}, "iterations must be between"),
    ({"horizon_days": 0}, "horizon_days must be at least 1"),
    ({"segment": {"planet": "Mars"}}, "unknown segment key"),
    ({"colour": "red"}, "unknown field"),
])
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
    done = subprocess.run([sys.executable, "-m", "scout", "montecarlo", "run", "--iterations", "3000", "--seed", "1",
                           "--segment", "category=Snacks", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "completed" and "batches" in done.stderr
    shown = subprocess.run([sys.executable, "-m", "scout", "montecarlo", "show", run["run_id"], "--json"],
                           capture_output=True, text=True, timeout=60)
    assert json.loads(shown.stdout)["results"]["revenue"] == run["results"]["revenue"]
    bad = subprocess.run([sys.executable, "-m", "scout", "montecarlo", "run", "--horizon-days", "0"],
                         capture_output=True, text=True, timeout=60)
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
    status, body, response = call_http(functions, "montecarlo_start", "POST", "http://host/api/montecarlo/runs",
                                       body=json.dumps({"iterations": 30_000, "batches": 3, "seed": 8}))
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


@pytest.mark.parametrize("body, message", [
    ('{"iterations": -5}', "iterations must be between"), ("[1]", "must be a JSON object"),
    ('{"segment": {"region": "Atlantis"}}', "unknown region"),
])
def test_bad_runs_over_http_are_400_json(queued, functions, body, message):
    status, payload, _ = call_http(functions, "montecarlo_start", "POST", body=body)
    assert status == 400 and message in payload["message"]
    assert receive(queued) == []


def test_an_unknown_run_is_404_json(migrated, functions):
    status, payload, _ = call_http(functions, "montecarlo_status", route_params={"run_id": "nope"})
    assert status == 404 and payload["error"] == "not_found"
