"""Results sessions: ``generate`` computes what the platform knows about a topic's segment and starts its
Monte Carlo run; the dashboard polls ``status`` and reads the five segments as they become ready.

Segments: Market (Monte Carlo revenue), Product (Monte Carlo units), Consumer (persona mix from
inference), Brand (revenue share by brand in the history), Experience (substitutions, interactions,
transcripts in the history). Everything is computed from the database; nothing is made up.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scout.config import Settings
from scout.db.base import Database
from scout.errors import InvalidInput, NotFound
from scout.jobs.runs import now_utc
from scout.montecarlo.scenario import SEGMENT_KEYS, Scenario, check_segment, segment_filter

SEGMENTS = ("Market", "Consumer", "Product", "Brand", "Experience")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_session_id(session_id: str) -> str:
    if not _SESSION.match(session_id or ""):
        raise InvalidInput("session_id must be 1-64 letters, digits, '-' or '_'")
    return session_id


def segment_name(name: str) -> str:
    for known in SEGMENTS:
        if known.lower() == (name or "").lower():
            return known
    raise NotFound(f"unknown segment {name!r}; segments: {', '.join(SEGMENTS)}")


def scenario_for(topic: str) -> Scenario:
    """``all`` or ``<key>:<value>`` with key one of region, store, brand, category, role."""
    if topic.lower() == "all":
        return Scenario(name="all")
    key, sep, value = topic.partition(":")
    if not sep or key not in SEGMENT_KEYS or not value.strip():
        raise InvalidInput(f"topic must be 'all' or '<key>:<value>' with key in {', '.join(SEGMENT_KEYS)}")
    return Scenario(segment={key: value.strip()}, name=topic)


def _history_segments(db: Database, scenario: Scenario) -> dict[str, dict[str, Any]]:
    where, params = segment_filter(scenario)
    base = f"FROM dbo.Transactions AS t JOIN dbo.Stores AS s ON s.store_id = t.store_id{where}"
    total = int(db.query_one(f"SELECT COUNT(*) {base}", params)[0])
    consumer: dict[str, Any] = {"transactions": total, "personas": []}
    if db.table_exists("ref", "transaction_personas"):
        rows = db.query(f"SELECT p.role, COUNT(*) {base.replace('FROM dbo.Transactions AS t', 'FROM dbo.Transactions AS t JOIN ref.transaction_personas AS p ON p.canonical_tx_id = t.canonical_tx_id')} GROUP BY p.role ORDER BY COUNT(*) DESC", params)
        scored = sum(int(r[1]) for r in rows) or 1
        consumer["personas"] = [{"role": r[0], "transactions": int(r[1]), "share": round(int(r[1]) / scored, 4)}
                                for r in rows]
    brands = db.query(f"SELECT i.brand, SUM(i.quantity * i.unit_price) FROM dbo.TransactionItems AS i "
                      f"WHERE i.canonical_tx_id IN (SELECT t.canonical_tx_id {base}) GROUP BY i.brand "
                      f"ORDER BY SUM(i.quantity * i.unit_price) DESC", params)
    revenue = float(sum(float(r[1] or 0) for r in brands)) or 1.0
    brand = {"revenue": round(revenue, 2), "brands": [
        {"brand": r[0], "revenue": round(float(r[1] or 0), 2), "share": round(float(r[1] or 0) / revenue, 4)}
        for r in brands[:15]]}
    exp = db.query_one(
        "SELECT COUNT(*), SUM(CASE WHEN x.sub = 1 THEN 1 ELSE 0 END), AVG(CAST(COALESCE(y.n, 0) AS FLOAT)), "
        "AVG(CASE WHEN y.spoken > 0 THEN 1.0 ELSE 0.0 END) "
        f"FROM (SELECT t.canonical_tx_id {base}) AS b "
        "LEFT JOIN (SELECT sessionId, MAX(CASE WHEN substitution_event = '1' THEN 1 ELSE 0 END) AS sub "
        "           FROM dbo.v_insight_base GROUP BY sessionId) AS x ON x.sessionId = b.canonical_tx_id "
        "LEFT JOIN (SELECT canonical_tx_id, COUNT(*) AS n, COUNT(TranscriptionText) AS spoken "
        "           FROM dbo.SalesInteractions GROUP BY canonical_tx_id) AS y ON y.canonical_tx_id = b.canonical_tx_id",
        params)
    experience = {"transactions": int(exp[0]), "substitution_rate": round(float(exp[1] or 0) / max(int(exp[0]), 1), 4),
                  "interactions_per_transaction": round(float(exp[2] or 0), 3),
                  "share_with_transcript": round(float(exp[3] or 0), 4)}
    return {"Consumer": consumer, "Brand": brand, "Experience": experience}


def _store_segment(db: Database, session_id: str, segment: str, payload: dict[str, Any]) -> None:
    db.execute("DELETE FROM results.segment_results WHERE session_id = ? AND segment = ?", (session_id, segment))
    db.execute("INSERT INTO results.segment_results (session_id, segment, payload, computed_at) VALUES (?, ?, ?, ?)",
               (session_id, segment, json.dumps(payload), now_utc()))


def generate(session_id: str, topic: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Compute the history segments now and start the Monte Carlo run (queued) for Market and Product."""
    from scout.db import connect
    from scout.montecarlo.job import submit

    check_session_id(session_id)
    scenario = scenario_for(topic)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        check_segment(db, scenario)
        history = _history_segments(db, scenario)
        with db.transaction():
            clear_rows(db, session_id)
            for segment, payload in history.items():
                _store_segment(db, session_id, segment, {"segment": segment, "topic": topic, **payload})
            db.execute("INSERT INTO results.generation_status (session_id, topic, state, percent, stage, updated_at) "
                       "VALUES (?, ?, 'processing', 0, 'simulating scenarios', ?)", (session_id, topic, now_utc()))
    run = submit(scenario, settings=settings, session_id=session_id)
    with connect(settings) as db, db.transaction():
        db.execute("UPDATE results.generation_status SET run_id = ?, updated_at = ? WHERE session_id = ?",
                   (run["run_id"], now_utc(), session_id))
    return status(session_id, settings=settings)


def run_completed(db: Database, session_id: str, run: dict[str, Any]) -> None:
    results = run["results"]
    common = {"topic": run["scenario"].get("name"), "run_id": run["run_id"], "horizon_days": run["horizon_days"],
              "iterations": results["iterations"]}
    with db.transaction():
        _store_segment(db, session_id, "Market", {"segment": "Market", **common, "revenue": results["revenue"],
                                                  "probability_above_target": results["probability_above_target"],
                                                  "histogram": results["histogram"], "daily_fan": results.get("daily_fan")})
        _store_segment(db, session_id, "Product", {"segment": "Product", **common, "units": results["units"]})
        db.execute("UPDATE results.generation_status SET state = 'completed', percent = 100, stage = 'completed', "
                   "updated_at = ? WHERE session_id = ?", (now_utc(), session_id))


def run_failed(db: Database, session_id: str, reason: str) -> None:
    with db.transaction():
        db.execute("UPDATE results.generation_status SET state = 'failed', stage = 'failed', error = ?, updated_at = ? "
                   "WHERE session_id = ?", (reason, now_utc(), session_id))


def _status_row(db: Database, session_id: str) -> dict[str, Any]:
    rows = db.query_dicts("SELECT session_id, topic, state, percent, stage, run_id, error, updated_at "
                          "FROM results.generation_status WHERE session_id = ?", (check_session_id(session_id),))
    if not rows:
        raise NotFound(f"unknown session {session_id}")
    return rows[0]


def status(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    with connect(settings or Settings.from_env()) as db:
        row = _status_row(db, session_id)
        if row["state"] == "processing" and row["run_id"]:
            run = db.query_one("SELECT batches_done, batches FROM results.montecarlo_runs WHERE run_id = ?",
                               (row["run_id"],))
            if run:
                row["percent"] = int(90 * run[0] / run[1]) + 10  # history segments are the first 10 %
                row["stage"] = f"simulating scenarios ({run[0]}/{run[1]} batches)"
        row["ready"] = [r[0] for r in db.query(
            "SELECT segment FROM results.segment_results WHERE session_id = ? ORDER BY segment", (session_id,))]
        return row


def segment(session_id: str, name: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    wanted = segment_name(name)
    with connect(settings or Settings.from_env()) as db:
        state = _status_row(db, session_id)
        row = db.query_one("SELECT payload FROM results.segment_results WHERE session_id = ? AND segment = ?",
                           (session_id, wanted))
    if row is None:
        raise NotFound(f"segment {wanted} of session {session_id} is not ready (state {state['state']})")
    return json.loads(row[0])


def complete(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    with connect(settings or Settings.from_env()) as db:
        state = _status_row(db, session_id)
        rows = db.query("SELECT segment, payload FROM results.segment_results WHERE session_id = ?", (session_id,))
    found = {name: json.loads(payload) for name, payload in rows}
    return {"session_id": session_id, "state": state["state"], "topic": state["topic"],
            "segments": {name: found.get(name) for name in SEGMENTS}}


def clear_rows(db: Database, session_id: str) -> int:
    db.execute("DELETE FROM results.segment_results WHERE session_id = ?", (session_id,))
    return db.execute("DELETE FROM results.generation_status WHERE session_id = ?", (session_id,))


def clear(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    with connect(settings or Settings.from_env()) as db:
        _status_row(db, session_id)
        with db.transaction():
            clear_rows(db, session_id)
    return {"session_id": session_id, "cleared": True}
