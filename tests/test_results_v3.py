"""The /api/v3/data-driven-results endpoints the dashboard polls: real computed results, clear 404s;
sessions that behave the same on Azure SQL and DuckDB (ids and brands compared as Azure's collation
does) and stay whole when two requests for one session arrive at once."""

import json
import re

import pytest

from scout.config import Settings
from scout.db import connect
from scout.montecarlo import BATCH_QUEUE, job
from scout.results import sessions
from tests.concurrency import at_once
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
    status, started, response = call_http(
        functions,
        "results_generate",
        "POST",
        f"{API}/generate/s-1/region:NCR",
        route_params={"session_id": "s-1", "topic": "region:NCR"},
    )
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


@pytest.mark.parametrize(
    "name, route, code, message",
    [
        ("results_status", {"session_id": "nobody"}, 404, "unknown session"),
        ("results_complete", {"session_id": "nobody"}, 404, "unknown session"),
        ("results_segment", {"session_id": "nobody", "segment": "Market"}, 404, "unknown session"),
        ("results_segment", {"session_id": "nobody", "segment": "Weather"}, 404, "unknown segment"),
        ("results_status", {"session_id": "bad id!"}, 400, "session_id must be"),
    ],
)
def test_unknown_sessions_and_segments_are_404_json_never_mock_data(migrated, functions, name, route, code, message):
    status, body = get(functions, name, **route)
    assert status == code and message in body["message"]


def test_generate_refuses_a_bad_topic_before_any_work(session_env, functions):
    status, body, _ = call_http(
        functions, "results_generate", "POST", route_params={"session_id": "s-2", "topic": "planet:Mars"}
    )
    assert status == 400 and "topic must be" in body["message"]
    status, body, _ = call_http(
        functions, "results_generate", "POST", route_params={"session_id": "s-2", "topic": "brand:Nope"}
    )
    assert status == 400 and "unknown brand" in body["message"]
    assert get(functions, "results_status", session_id="s-2")[0] == 404


def test_session_ids_are_case_insensitive_as_on_azure_sql(session_env, functions):
    status, started, _ = call_http(
        functions, "results_generate", "POST", route_params={"session_id": "ABC", "topic": "all"}
    )
    assert status == 202 and started["session_id"] == "abc"
    assert get(functions, "results_status", session_id="abc")[1]["session_id"] == "abc"
    assert get(functions, "results_segment", session_id="aBc", segment="Brand")[0] == 200

    call_http(functions, "results_generate", "POST", route_params={"session_id": "abc", "topic": "region:NCR"})

    with connect(session_env) as db:
        assert db.query("SELECT session_id, topic FROM results.generation_status") == [("abc", "region:NCR")]
    status, cleared, _ = call_http(functions, "results_clear", "DELETE", route_params={"session_id": "ABC"})
    assert status == 200 and get(functions, "results_status", session_id="abc")[0] == 404


def test_brands_spelt_in_different_cases_or_with_trailing_spaces_are_one_brand(migrated):
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=1500, seed=9, settings=migrated)
    with connect(migrated) as db, db.transaction():
        db.execute("UPDATE dbo.TransactionItems SET unit_price = 500 WHERE brand = 'Lucky Me'")  # a top brand
        revenue = float(
            db.query_one("SELECT SUM(quantity * unit_price) FROM dbo.TransactionItems WHERE brand = 'Lucky Me'")[0]
        )
        for spelling, every in (("lucky me ", 3), ("LUCKY ME", 2)):
            db.execute(
                f"UPDATE dbo.TransactionItems SET brand = ? WHERE brand = 'Lucky Me' AND line_no % {every} = 0",
                (spelling,),
            )
        spellings = {
            r[0]
            for r in db.query("SELECT DISTINCT brand FROM dbo.TransactionItems WHERE UPPER(RTRIM(brand)) = 'LUCKY ME'")
        }
    assert spellings == {"Lucky Me", "lucky me ", "LUCKY ME"}

    with connect(migrated) as db:
        brands = sessions.history_segments(db, sessions.scenario_for("all"))["Brand"]["brands"]

    [lucky] = [b for b in brands if b["brand"].rstrip(" ").upper() == "LUCKY ME"]
    assert lucky["brand"] == "LUCKY ME"  # the binary-smallest spelling, as MIN(... COLLATE ..._BIN2) shows it
    assert lucky["revenue"] == round(revenue, 2)


def stored_session(settings, session_id):
    with connect(settings) as db:
        states = db.query("SELECT topic, run_id FROM results.generation_status WHERE session_id = ?", (session_id,))
        segments = db.query("SELECT segment, payload FROM results.segment_results WHERE session_id = ?", (session_id,))
    return states, {name: json.loads(payload) for name, payload in segments}


@pytest.mark.parametrize("existing", [False, True], ids=["new session", "existing session"])
def test_generations_of_one_session_at_once_leave_exactly_one_of_them_whole(migrated, existing):
    if existing:
        with connect(migrated) as db:
            sessions.record_generation(db, "race", "before", "run-before", {"Brand": {"writer": -1}})

    at_once(
        migrated,
        lambda db, i: sessions.record_generation(
            db, "race", f"topic {i}", f"run-{i}", {name: {"writer": i} for name in ("Consumer", "Brand", "Experience")}
        ),
    )

    [(topic, run_id)], segments = stored_session(migrated, "race")
    writer = int(run_id.split("-")[1])
    assert topic == f"topic {writer}" and sorted(segments) == ["Brand", "Consumer", "Experience"]
    assert {payload["writer"] for payload in segments.values()} == {writer}


def test_two_generate_requests_for_one_session_at_once_leave_one_state_whatever_the_timing(session_env):
    """Overlapping, one wins and the other is told which run won (tests/test_sessions_consistency.py makes them
    overlap for sure); one after the other, the later replaces the earlier. Either way one state, one topic."""

    def attempt(_db, i):
        try:
            return sessions.generate("twice", ["all", "region:NCR"][i], settings=session_env)
        except sessions.GenerationConflict as lost:
            return lost

    answers = at_once(session_env, attempt, 2)

    won = [a for a in answers if isinstance(a, dict)]
    assert won and [a["state"] for a in won] == ["processing"] * len(won)
    [(topic, run_id)], segments = stored_session(session_env, "twice")
    assert {(segment["topic"], segment["run_id"]) for segment in segments.values()} == {(topic, run_id)}
    assert [(lost.topic, lost.run_id) for lost in answers if lost not in won] in ([], [(topic, run_id)])
    with connect(session_env) as db:
        started = db.query("SELECT run_id FROM results.montecarlo_runs WHERE session_id = 'twice'")
    assert len(started) == len(won) and (run_id,) in started  # a loser starts no run


def test_a_session_follows_its_run_to_failure_with_the_reason(session_env, functions):
    from scout.storage import queue_client

    call_http(functions, "results_generate", "POST", route_params={"session_id": "doomed", "topic": "all"})
    queue = queue_client(session_env, BATCH_QUEUE)
    [first, *_] = list(queue.receive_messages(max_messages=32, visibility_timeout=30))
    job.poisoned_batch(first.content, settings=session_env)

    status, state = get(functions, "results_status", session_id="doomed")
    assert (status, state["state"]) == (200, "failed") and "failed repeatedly" in state["error"]
    with connect(session_env) as db:  # the session's own row says so too, recorded by the poll
        assert db.query_one("SELECT [state] FROM results.generation_status WHERE session_id = 'doomed'")[0] == "failed"
    assert (
        "not ready (state failed)"
        in get(functions, "results_segment", session_id="doomed", segment="Market")[1]["message"]
    )


def _without_literals_and_quoted_names(tsql):
    return re.sub(r"'(?:[^']|'')*'|\[[^\]]*\]|\"[^\"]*\"", " ", tsql)


def test_no_statement_of_a_whole_session_names_the_percent_column_bare(session_env):
    """``percent`` is a reserved T-SQL keyword: SQL Server refuses it unbracketed (Msg 156)."""
    from scout.sql.capture import recording

    with recording() as recorder:
        sessions.generate("kw", "region:NCR", settings=session_env)
        sessions.status("kw", settings=session_env)
        run_all_batches(session_env)
        assert sessions.status("kw", settings=session_env)["percent"] == 100
        sessions.complete("kw", settings=session_env)
        sessions.segment("kw", "Market", settings=session_env)
        sessions.clear("kw", settings=session_env)

    sent = [s.tsql for s in recorder.sent]
    assert any("[percent]" in tsql for tsql in sent)
    bare = [tsql for tsql in sent if re.search(r"\bpercent\b", _without_literals_and_quoted_names(tsql), re.I)]
    assert bare == []


def test_generate_analyses_the_topic_and_the_segments_serve_its_factors_patterns_and_text(
    session_env, functions, monkeypatch
):
    """Factors → patterns → rich content run inside generate, the stage and percent moving through each
    before the run starts; the segments show their factors (with intervals), fired patterns and text."""
    stages = []
    real_stage = sessions.analysis.analyse

    def analyse(db, key, value, *, stage=None, **kwargs):
        def seen(percent, name):
            stage(percent, name)
            row = db.query_one("SELECT [percent], stage FROM results.generation_status WHERE session_id = 's-9'")
            stages.append((int(row[0]), row[1]))

        return real_stage(db, key, value, stage=seen, **kwargs)

    monkeypatch.setattr(sessions.analysis, "analyse", analyse)
    status, started, _ = call_http(
        functions,
        "results_generate",
        "POST",
        f"{API}/generate/s-9/all",
        route_params={"session_id": "s-9", "topic": "all"},
    )
    assert status == 202 and started["percent"] == 10
    assert stages == [(2, "computing factors"), (5, "matching patterns"), (7, "writing rich content")]

    _, brand = get(functions, "results_segment", session_id="s-9", segment="Brand")
    assert [f["id"] for f in brand["factors"]] == ["F8", "F12", "F22", "F25"]
    hhi = brand["factors"][1]
    assert (
        hhi["status"] == "ok" and hhi["ci_low"] <= hhi["value"] <= hhi["ci_high"] and hhi["method"] == "bootstrap_bca"
    )
    assert (
        brand["content"]["headline"] == "Brands in all"
        and "brand concentration (HHI)" in brand["content"]["paragraphs"][0]
    )
    assert all(p["fired"] and p["results_segment"] == "Brand" for p in brand["patterns"])
    assert get(functions, "results_segment", session_id="s-9", segment="Market")[0] == 404  # the run is not done

    run_all_batches(session_env)
    _, market = get(functions, "results_segment", session_id="s-9", segment="Market")
    assert market["revenue"]["mean"] > 0 and "F1" in [f["id"] for f in market["factors"]]
    _, product = get(functions, "results_segment", session_id="s-9", segment="Product")
    assert product["units"]["mean"] > 0 and product["content"]["segment"] == "Product"
    _, everything = get(functions, "results_complete", session_id="s-9")
    analysed = everything["analysis"]
    assert [f["id"] for f in analysed["factors"]] == [f"F{i}" for i in range(1, 29)]
    assert len(analysed["patterns"]) == 41 and set(analysed["rich_content"]) == {"Product", "Brand", "Experience"}
    for p in analysed["patterns"]:  # a pattern never fires on a factor with insufficient data
        assert not (p["fired"] and any(e["status"] != "ok" for e in p["evidence"].values()))
    assert everything["segments"]["Brand"] == brand

    with connect(session_env) as db:
        stored = db.query_value("SELECT COUNT(*) FROM results.computed_factors WHERE session_id = 's-9'")
        # an analyst edits a rule: the session's patterns and texts follow on the next read
        db.execute("UPDATE results.pattern_rules SET rule_condition = 'F12.hi < 2' WHERE pattern_id = 'P028'")
    assert stored == 28  # all has no parent: its own 28 factors
    _, edited = get(functions, "results_segment", session_id="s-9", segment="Brand")
    assert "P028" in [p["id"] for p in edited["patterns"]] and "P028" in edited["content"]["patterns"]
    assert get(functions, "results_clear", session_id="s-9")[0] == 200
    with connect(session_env) as db:
        assert db.query_value("SELECT COUNT(*) FROM results.pattern_matches WHERE session_id = 's-9'") == 0
