"""Results sessions: ``generate`` computes what the platform knows about a topic's segment and starts its
Monte Carlo run; the dashboard polls ``status`` and reads the five segments as they become ready.

Segments: Market (Monte Carlo revenue), Product (Monte Carlo units), Consumer (persona mix from
inference), Brand (revenue share by brand in the history), Experience (substitutions, interactions,
transcripts in the history). Everything is computed from the database; nothing is made up.

The session's run (``results.montecarlo_runs``) is the source of truth for Market, Product and the
session's progress: this layer reads the run, the Monte Carlo code never writes into sessions. When a
poll finds the run finished, the session's row is brought up to date with it (once, conditionally).

Session ids are case-insensitive, as Azure SQL's collation compares them: they are kept in lower case.
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
#: Segments computed from the run; the others are computed from the history by ``generate``.
RUN_SEGMENTS = ("Market", "Product")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The application lock generations of sessions take turns under (see record_generation).
SESSIONS_LOCK = "results-sessions"
#: The history segments are the first 10 % of a session's progress, the run's batches the other 90 %.
HISTORY_PERCENT = 10

#: The session's row, first in the transaction that writes a generation. HOLDLOCK: on SQL Server the key
#: (or the gap where it would be) stays locked until commit, so generations of one session take turns.
_UPSERT_STATUS = (
    "MERGE results.generation_status WITH (HOLDLOCK) AS g "
    "USING (SELECT ? AS session_id, ? AS topic, ? AS run_id, ? AS updated_at) AS s "
    "ON g.session_id = s.session_id "
    "WHEN MATCHED THEN UPDATE SET topic = s.topic, [state] = 'processing', [percent] = 10, "
    "stage = 'simulating scenarios', run_id = s.run_id, error = NULL, updated_at = s.updated_at "
    "WHEN NOT MATCHED THEN INSERT (session_id, topic, [state], [percent], stage, run_id, error, updated_at) "
    "VALUES (s.session_id, s.topic, 'processing', 10, 'simulating scenarios', s.run_id, NULL, s.updated_at);")
_DELETE_SEGMENTS = "DELETE FROM results.segment_results WHERE session_id = ?"
_INSERT_SEGMENT = ("INSERT INTO results.segment_results (session_id, segment, payload, computed_at) "
                   "VALUES (?, ?, ?, ?)")
_DELETE_STATUS = "DELETE FROM results.generation_status WHERE session_id = ?"
_SELECT_STATUS = ("SELECT session_id, topic, [state], [percent], stage, run_id, error, updated_at "
                  "FROM results.generation_status WHERE session_id = ?")
_SELECT_SEGMENT = "SELECT payload FROM results.segment_results WHERE session_id = ? AND segment = ?"
_SELECT_SEGMENTS = "SELECT segment, payload FROM results.segment_results WHERE session_id = ? ORDER BY segment"
#: Only a session still processing this very run changes: a newer generate or a second poll leave it be.
_RECORD_RUN_END = (
    "UPDATE results.generation_status SET [state] = ?, [percent] = ?, stage = ?, error = ?, updated_at = ? "
    "WHERE session_id = ? AND run_id = ? AND [state] = 'processing'")
#: Brands compared as Azure SQL's default collation does (case-insensitive, trailing spaces ignored): one
#: row per ``UPPER(RTRIM(brand))``, shown with its binary-smallest spelling (scout.db.collation).
_BRAND_REVENUE = (
    "SELECT MIN(RTRIM(i.brand) COLLATE Latin1_General_100_BIN2) AS brand_name, "
    "SUM(i.quantity * i.unit_price) AS brand_revenue "
    "FROM dbo.TransactionItems AS i WHERE i.canonical_tx_id IN (SELECT t.canonical_tx_id {base}) "
    "GROUP BY UPPER(RTRIM(i.brand)) ORDER BY brand_revenue DESC, brand_name")


def check_session_id(session_id: str) -> str:
    """The session id in its one spelling (lower case); InvalidInput when it is not a valid id."""
    if not _SESSION.match(session_id or ""):
        raise InvalidInput("session_id must be 1-64 letters, digits, '-' or '_'")
    return session_id.lower()


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


def history_segments(db: Database, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Consumer, Brand and Experience of the scenario's segment, from the history."""
    where, params = segment_filter(scenario)
    base = f"FROM dbo.Transactions AS t JOIN dbo.Stores AS s ON s.store_id = t.store_id{where}"
    total = int(db.query_one(f"SELECT COUNT(*) {base}", params)[0])
    consumer: dict[str, Any] = {"transactions": total, "personas": []}
    if db.table_exists("ref", "transaction_personas"):
        rows = db.query("SELECT p.[role], COUNT(*) FROM dbo.Transactions AS t "
                        "JOIN [ref].transaction_personas AS p ON p.canonical_tx_id = t.canonical_tx_id "
                        f"JOIN dbo.Stores AS s ON s.store_id = t.store_id{where} "
                        "GROUP BY p.[role] ORDER BY COUNT(*) DESC", params)
        scored = sum(int(r[1]) for r in rows) or 1
        consumer["personas"] = [{"role": r[0], "transactions": int(r[1]), "share": round(int(r[1]) / scored, 4)}
                                for r in rows]
    brands = db.query(_BRAND_REVENUE.format(base=base), params)
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


def record_generation(db: Database, session_id: str, topic: str, run_id: str,
                      history: dict[str, dict[str, Any]], *, lock_timeout_seconds: float = 30.0) -> None:
    """The session's state (processing its run) and its history segments, replacing whatever the session
    had, in one transaction: two generations of one session at once leave one of them, whole.

    Generations take turns under the application lock ``results-sessions`` (held for the few
    milliseconds of the write). SQL Server would not need it (the MERGE's HOLDLOCK queues them on the
    session's key), but DuckDB has no lock on a key not yet there: two transactions creating one
    session would both insert it, and the second fails on the primary key instead of waiting.
    """
    now = now_utc()

    def write(tx: Database) -> None:
        tx.execute(_UPSERT_STATUS, (session_id, topic, run_id, now))
        tx.execute(_DELETE_SEGMENTS, (session_id,))
        for segment, payload in history.items():
            tx.execute(_INSERT_SEGMENT, (session_id, segment, json.dumps({"segment": segment, "topic": topic,
                                                                          **payload}), now))

    with db.application_lock(SESSIONS_LOCK, lock_timeout_seconds):
        db.retry_transaction(write, what=f"recording results session {session_id}")


def generate(session_id: str, topic: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Compute the history segments, start the Monte Carlo run (queued) for Market and Product, then
    record the session with both; returns its status."""
    from scout.db import connect
    from scout.montecarlo.job import submit

    session_id = check_session_id(session_id)
    scenario = scenario_for(topic)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        check_segment(db, scenario)
        history = history_segments(db, scenario)
    run = submit(scenario, settings=settings, session_id=session_id)
    with connect(settings) as db:
        record_generation(db, session_id, topic, run["run_id"], history,
                          lock_timeout_seconds=settings["SCOUT_LOCK_TIMEOUT_SECONDS"])
    return status(session_id, settings=settings)


def run_segments(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Market and Product of a completed run."""
    results = run["results"]
    common = {"topic": run["scenario"].get("name"), "run_id": run["run_id"], "horizon_days": run["horizon_days"],
              "iterations": results["iterations"]}
    return {"Market": {"segment": "Market", **common, "revenue": results["revenue"],
                       "probability_above_target": results["probability_above_target"],
                       "histogram": results["histogram"], "daily_fan": results.get("daily_fan")},
            "Product": {"segment": "Product", **common, "units": results["units"]}}


def progress_of(row: dict[str, Any], run: dict[str, Any] | None) -> dict[str, Any]:
    """The session's state, percent, stage and error as its run makes them (pure)."""
    if run is None:
        return {k: row[k] for k in ("state", "percent", "stage", "error")}
    if run["status"] == "completed":
        return {"state": "completed", "percent": 100, "stage": "completed", "error": None}
    done = int(HISTORY_PERCENT + (100 - HISTORY_PERCENT) * run["batches_done"] / run["batches"])
    if run["status"] == "failed":
        return {"state": "failed", "percent": done, "stage": "failed", "error": run["error"]}
    stage = ("combining scenario batches" if run["status"] == "combining"
             else f"simulating scenarios ({run['batches_done']}/{run['batches']} batches)")
    return {"state": "processing", "percent": done, "stage": stage, "error": None}


def _status_row(db: Database, session_id: str) -> dict[str, Any]:
    rows = db.query_dicts(_SELECT_STATUS, (session_id,))
    if not rows:
        raise NotFound(f"unknown session {session_id}")
    return rows[0]


def _run_of(db: Database, row: dict[str, Any]) -> dict[str, Any] | None:
    from scout.montecarlo.runs import get_run

    if not row["run_id"]:
        return None
    try:
        return get_run(db, row["run_id"])
    except NotFound:
        return None


def _session(db: Database, session_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The session's row with its progress as the run makes it, and the run; records a run's end once."""
    row = _status_row(db, session_id)
    run = _run_of(db, row)
    stored_state = row["state"]
    row.update(progress_of(row, run))
    if stored_state == "processing" and row["state"] != "processing":
        db.retry_transaction(lambda tx: tx.execute(_RECORD_RUN_END, (
            row["state"], row["percent"], row["stage"], row["error"], now_utc(), session_id, row["run_id"])),
            what=f"recording the end of results session {session_id}")
    return row, run


def _segments(db: Database, session_id: str, run: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    found = {name: json.loads(payload) for name, payload in db.query(_SELECT_SEGMENTS, (session_id,))
             if name not in RUN_SEGMENTS}
    if run is not None and run["status"] == "completed":
        found.update(run_segments(run))
    return found


def status(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id = check_session_id(session_id)
    with connect(settings or Settings.from_env()) as db:
        row, run = _session(db, session_id)
        row["ready"] = sorted(_segments(db, session_id, run))
        return row


def segment(session_id: str, name: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id, wanted = check_session_id(session_id), segment_name(name)
    with connect(settings or Settings.from_env()) as db:
        row, run = _session(db, session_id)
        if wanted in RUN_SEGMENTS:
            found = run_segments(run).get(wanted) if run is not None and run["status"] == "completed" else None
        else:
            stored = db.query_one(_SELECT_SEGMENT, (session_id, wanted))
            found = json.loads(stored[0]) if stored else None
    if found is None:
        raise NotFound(f"segment {wanted} of session {session_id} is not ready (state {row['state']})")
    return found


def complete(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id = check_session_id(session_id)
    with connect(settings or Settings.from_env()) as db:
        row, run = _session(db, session_id)
        found = _segments(db, session_id, run)
    return {"session_id": session_id, "state": row["state"], "topic": row["topic"],
            "segments": {name: found.get(name) for name in SEGMENTS}}


def clear_rows(db: Database, session_id: str) -> int:
    """Delete the session (its row first, as ``generate`` locks it first); returns the rows of its state."""
    cleared = db.execute(_DELETE_STATUS, (session_id,))
    db.execute(_DELETE_SEGMENTS, (session_id,))
    return cleared


def clear(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id = check_session_id(session_id)

    def delete(tx: Database) -> None:
        if clear_rows(tx, session_id) == 0:
            raise NotFound(f"unknown session {session_id}")

    with connect(settings or Settings.from_env()) as db:
        db.retry_transaction(delete, what=f"clearing results session {session_id}")
    return {"session_id": session_id, "cleared": True}
