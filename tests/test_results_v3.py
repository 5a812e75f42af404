"""The /api/v3/data-driven-results endpoints the dashboard polls: real computed results, clear 404s."""


import pytest

from scout.config import Settings
from scout.montecarlo import BATCH_QUEUE, job
from tests.conftest import call_http

API = "http://host/api/v3/data-driven-results"


@pytest.fixture
def session_env(migrated, azurite, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    from scout.demo import job as demo
    from scout.personas.job import infer
    from scout.storage import queue_client

    demo.seed(trigger="cli", transactions=1500, seed=9)
    infer(trigger="cli")
    settings = Settings.from_env()
    queue_client(settings, BATCH_QUEUE).clear_messages()
    return settings


def run_all_batches(settings):
    from scout.storage import queue_client

    queue = queue_client(settings, BATCH_QUEUE)
    for message in queue.receive_messages(max_messages=32, visibility_timeout=30):
        job.run_queued_batch(message.content, settings=settings)
        queue.delete_message(message)


def get(functions, name, **route):
    status, body, _ = call_http(functions, name, route_params=route)
    return status, body


def test_generate_then_poll_status_and_read_every_segment(session_env, functions):
    status, started, response = call_http(functions, "results_generate", "POST", f"{API}/generate/s-1/region:NCR",
                                          route_params={"session_id": "s-1", "topic": "region:NCR"})
    assert status == 202 and started["state"] == "processing" and started["percent"] == 10
    assert response.headers["Location"] == f"{API}/status/s-1"
    assert sorted(started["ready"]) == ["Brand", "Consumer", "Experience"]

    status, consumer = get(functions, "results_segment", session_id="s-1", segment="consumer")
    assert status == 200 and consumer["segment"] == "Consumer" and consumer["personas"]
    assert abs(sum(p["share"] for p in consumer["personas"]) - 1) < 0.01
    assert get(functions, "results_segment", session_id="s-1", segment="Market")[0] == 404  # not ready yet

    run_all_batches(session_env)

    status, state = get(functions, "results_status", session_id="s-1")
    assert (status, state["state"], state["percent"]) == (200, "completed", 100)
    status, market = get(functions, "results_segment", session_id="s-1", segment="Market")
    assert status == 200 and set(market["revenue"]) >= {"mean", "std", "mc_standard_error", "p5", "p50", "p95"}
    assert len(market["daily_fan"]["p50"]) == market["horizon_days"] == 30
    _, product = get(functions, "results_segment", session_id="s-1", segment="Product")
    assert product["units"]["mean"] > 0
    _, brand = get(functions, "results_segment", session_id="s-1", segment="Brand")
    assert brand["brands"][0]["share"] >= brand["brands"][-1]["share"]
    _, experience = get(functions, "results_segment", session_id="s-1", segment="Experience")
    assert 0 <= experience["substitution_rate"] <= 1 and experience["interactions_per_transaction"] >= 1
    status, everything = get(functions, "results_complete", session_id="s-1")
    assert status == 200 and set(everything["segments"]) == {"Market", "Consumer", "Product", "Brand", "Experience"}
    assert everything["segments"]["Market"] == market

    status, cleared, _ = call_http(functions, "results_clear", "DELETE", route_params={"session_id": "s-1"})
    assert status == 200 and cleared["cleared"] is True
    assert get(functions, "results_status", session_id="s-1")[0] == 404


@pytest.mark.parametrize("name, route, code, message", [
    ("results_status", {"session_id": "nobody"}, 404, "unknown session"),
    ("results_complete", {"session_id": "nobody"}, 404, "unknown session"),
    ("results_segment", {"session_id": "nobody", "segment": "Market"}, 404, "unknown session"),
    ("results_segment", {"session_id": "nobody", "segment": "Weather"}, 404, "unknown segment"),
    ("results_status", {"session_id": "bad id!"}, 400, "session_id must be"),
])
def test_unknown_sessions_and_segments_are_404_json_never_mock_data(migrated, functions, name, route, code, message):
    status, body = get(functions, name, **route)
    assert status == code and message in body["message"]


def test_generate_refuses_a_bad_topic_before_any_work(session_env, functions):
    status, body, _ = call_http(functions, "results_generate", "POST",
                                route_params={"session_id": "s-2", "topic": "planet:Mars"})
    assert status == 400 and "topic must be" in body["message"]
    status, body, _ = call_http(functions, "results_generate", "POST",
                                route_params={"session_id": "s-2", "topic": "brand:Nope"})
    assert status == 400 and "unknown brand" in body["message"]
    assert get(functions, "results_status", session_id="s-2")[0] == 404
