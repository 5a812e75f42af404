"""Results sessions: ``generate`` computes what the platform knows about a topic's segment and starts its
Monte Carlo run; the dashboard polls ``status`` and reads the five segments as they become ready.

Segments: Market (Monte Carlo revenue), Product (Monte Carlo units), Consumer (persona mix from
inference), Brand (revenue share by brand in the history), Experience (substitutions, interactions,
transcripts in the history). Everything is computed from the database; nothing is made up.
Before its run starts, a generate also analyses the topic (``scout.results.analysis``: factors F1–F28 with
intervals, patterns P001–P041, Product/Brand/Experience text), stored with the generation; every segment
read includes its part of it.

A session has one topic at a time: its current *generation* (a token written by the generate that
claimed it, with the topic and, once started, the run). Every stored segment is stamped with the
generation, topic and run that wrote it, and a read serves only segments of the current generation;
Market and Product are read from the current generation's run, never from another. So the results of a
superseded generation (an earlier topic, a run still finishing) are never served, whenever they land.

The session's run (``results.montecarlo_runs``) is the source of truth for Market, Product and the
session's progress: this layer reads the run, the Monte Carlo code never writes into sessions. When a
poll finds the run finished, the session's row is brought up to date with it (once, conditionally on the
generation and run).

Session ids are case-insensitive, as Azure SQL's collation compares them: they are kept in lower case.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
import zlib
from datetime import datetime
from typing import Any

from scout.config import Settings
from scout.db.base import Database, LockTimeout
from scout.errors import InvalidInput, NotFound
from scout.jobs.runs import now_utc
from scout.montecarlo.scenario import SEGMENT_KEYS, Scenario, check_segment, segment_filter
from scout.results import analysis

SEGMENTS = ("Market", "Consumer", "Product", "Brand", "Experience")
#: Segments computed from the run; the others are computed from the history by ``generate``.
RUN_SEGMENTS = ("Market", "Product")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Generates (and clears) of one session take turns under an application lock named after the session's
#: bucket: sessions in different buckets never wait for each other, and DuckDB keeps one lock file per
#: bucket rather than one per session ever made.
SESSION_LOCK_BUCKETS = 64
#: The history segments are the first 10 % of a session's progress, the run's batches the other 90 %.
HISTORY_PERCENT = 10
log = logging.getLogger("scout.results")
#: The stage of a generation that has claimed its session and is starting its run.
STARTING = "starting its run"

_SELECT_STATUS = (
    "SELECT session_id, topic, [state], [percent], stage, run_id, error, updated_at, generation "
    "FROM results.generation_status WHERE session_id = ?"
)
#: A new session claimed (under the session's lock, so no other generate inserts it meanwhile).
_INSERT_CLAIM = (
    "INSERT INTO results.generation_status (session_id, generation, topic, [state], [percent], stage, run_id, "
    "error, updated_at) SELECT ?, ?, ?, 'processing', 0, ?, NULL, NULL, ? "
    "WHERE NOT EXISTS (SELECT 1 FROM results.generation_status WHERE session_id = ?)"
)
#: An existing session claimed: conditional on the generation the claimant found (a compare-and-set).
_CLAIM = (
    "UPDATE results.generation_status SET generation = ?, topic = ?, [state] = 'processing', [percent] = 0, "
    "stage = ?, run_id = NULL, error = NULL, updated_at = ? WHERE session_id = ? AND COALESCE(generation, '') = ?"
)
#: The started run attached to the generation that claimed the session, if it still is the current one.
_ATTACH_RUN = (
    "UPDATE results.generation_status SET run_id = ?, [percent] = ?, stage = 'simulating scenarios', updated_at = ? "
    "WHERE session_id = ? AND generation = ? AND run_id IS NULL AND [state] = 'processing'"
)
#: A generation whose run could not be started: failed, with the reason (never left processing with no run).
_FAIL_START = (
    "UPDATE results.generation_status SET [state] = 'failed', stage = ?, error = ?, updated_at = ? "
    "WHERE session_id = ? AND generation = ? AND run_id IS NULL"
)
_DELETE_SEGMENTS = "DELETE FROM results.segment_results WHERE session_id = ?"
_INSERT_SEGMENT = (
    "INSERT INTO results.segment_results (session_id, segment, payload, computed_at, generation, topic, "
    "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_STATUS = "DELETE FROM results.generation_status WHERE session_id = ?"
#: The claiming generation's progress through its analysis (factors, patterns, rich content), before its run.
_STAGE = (
    "UPDATE results.generation_status SET [percent] = ?, stage = ?, updated_at = ? "
    "WHERE session_id = ? AND generation = ? AND run_id IS NULL AND [state] = 'processing'"
)
#: The percent at which the analysis is stored and the run is being started.
ANALYSED_PERCENT = 8
#: Segments of the current generation only. A session written before generations existed has no
#: generation, nor have its segments: COALESCE makes them match ('' is never a token).
_SELECT_SEGMENT = (
    "SELECT payload FROM results.segment_results WHERE session_id = ? AND segment = ? AND COALESCE(generation, '') = ?"
)
_SELECT_SEGMENTS = (
    "SELECT segment, payload FROM results.segment_results "
    "WHERE session_id = ? AND COALESCE(generation, '') = ? ORDER BY segment"
)
#: Only a session still processing this very generation and run changes: a newer generate or a second
#: poll leave it be.
_RECORD_RUN_END = (
    "UPDATE results.generation_status SET [state] = ?, [percent] = ?, stage = ?, error = ?, updated_at = ? "
    "WHERE session_id = ? AND COALESCE(generation, '') = ? AND run_id = ? AND [state] = 'processing'"
)
#: Brands compared as Azure SQL's default collation does (case-insensitive, trailing spaces ignored): one
#: row per ``UPPER(RTRIM(brand))``, shown with its binary-smallest spelling (scout.db.collation).
_BRAND_REVENUE = (
    "SELECT MIN(RTRIM(i.brand) COLLATE Latin1_General_100_BIN2) AS brand_name, "
    "SUM(i.quantity * i.unit_price) AS brand_revenue "
    "FROM dbo.TransactionItems AS i WHERE i.canonical_tx_id IN (SELECT t.canonical_tx_id {base}) "
    "GROUP BY UPPER(RTRIM(i.brand)) ORDER BY brand_revenue DESC, brand_name"
)


class GenerationConflict(LockTimeout):
    """Another generate of the session won: it claimed the session while this one was on its way (or
    was starting its run when this one arrived). HTTP 409 ``{"error": "conflict", "run_id", "topic"}``:
    the winner's run and topic, which the dashboard can follow instead."""

    def __init__(self, session_id: str, topic: str | None, run_id: str | None) -> None:
        started = f"run {run_id}" if run_id else "a run it is still starting"
        super().__init__(
            f"another generate of session {session_id} won (topic {topic}, {started}); "
            "poll its status, or generate again to replace it"
        )
        self.session_id, self.topic, self.run_id = session_id, topic, run_id


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


def session_lock(session_id: str) -> str:
    """The application lock generates and clears of this session take turns under."""
    return f"results-session-{zlib.crc32(session_id.encode()) % SESSION_LOCK_BUCKETS:02d}"


def history_segments(db: Database, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Consumer, Brand and Experience of the scenario's segment, from the history."""
    where, params = segment_filter(scenario)
    base = f"FROM dbo.Transactions AS t JOIN dbo.Stores AS s ON s.store_id = t.store_id{where}"
    total = int(db.query_value(f"SELECT COUNT(*) {base}", params))
    consumer: dict[str, Any] = {"transactions": total, "personas": []}
    if db.table_exists("ref", "transaction_personas"):
        rows = db.query(
            "SELECT p.[role], COUNT(*) FROM dbo.Transactions AS t "
            "JOIN [ref].transaction_personas AS p ON p.canonical_tx_id = t.canonical_tx_id "
            f"JOIN dbo.Stores AS s ON s.store_id = t.store_id{where} "
            "GROUP BY p.[role] ORDER BY COUNT(*) DESC",
            params,
        )
        scored = sum(int(r[1]) for r in rows) or 1
        consumer["personas"] = [
            {"role": r[0], "transactions": int(r[1]), "share": round(int(r[1]) / scored, 4)} for r in rows
        ]
    brands = db.query(_BRAND_REVENUE.format(base=base), params)
    revenue = float(sum(float(r[1] or 0) for r in brands)) or 1.0
    brand = {
        "revenue": round(revenue, 2),
        "brands": [
            {"brand": r[0], "revenue": round(float(r[1] or 0), 2), "share": round(float(r[1] or 0) / revenue, 4)}
            for r in brands[:15]
        ],
    }
    exp = db.query_one(
        "SELECT COUNT(*), SUM(CASE WHEN x.sub = 1 THEN 1 ELSE 0 END), AVG(CAST(COALESCE(y.n, 0) AS FLOAT)), "
        "AVG(CASE WHEN y.spoken > 0 THEN 1.0 ELSE 0.0 END) "
        f"FROM (SELECT t.canonical_tx_id {base}) AS b "
        "LEFT JOIN (SELECT sessionId, MAX(CASE WHEN substitution_event = '1' THEN 1 ELSE 0 END) AS sub "
        "           FROM dbo.v_insight_base GROUP BY sessionId) AS x ON x.sessionId = b.canonical_tx_id "
        "LEFT JOIN (SELECT canonical_tx_id, COUNT(*) AS n, COUNT(TranscriptionText) AS spoken "
        "           FROM dbo.SalesInteractions GROUP BY canonical_tx_id) AS y ON y.canonical_tx_id = b.canonical_tx_id",
        params,
    ) or (0, 0, 0, 0)
    experience = {
        "transactions": int(exp[0]),
        "substitution_rate": round(float(exp[1] or 0) / max(int(exp[0]), 1), 4),
        "interactions_per_transaction": round(float(exp[2] or 0), 3),
        "share_with_transcript": round(float(exp[3] or 0), 4),
    }
    return {"Consumer": consumer, "Brand": brand, "Experience": experience}


# -- generations: claim, start, attach ------------------------------------------------------------------


def _row(db: Database, session_id: str) -> dict[str, Any] | None:
    rows = db.query_dicts(_SELECT_STATUS, (session_id,))
    return rows[0] if rows else None


def is_starting(row: dict[str, Any] | None) -> bool:
    """Whether the row is a generation that claimed its session and has not started its run yet."""
    return row is not None and row["state"] == "processing" and row["run_id"] is None


def lost_to(current: dict[str, Any] | None, seen: dict[str, Any] | None) -> bool:
    """Whether a generate that found ``seen`` on arrival and ``current`` once it holds the session's lock
    lost to another generate (pure).

    It lost when another generate started a run while it was on its way: the current generation has a
    run and is either not the one it found (claimed meanwhile) or the one it found still starting (that
    generate was mid-flight when this one arrived, and went on to start its run). A current generation
    without a run is a start that failed, or whose generate died (a live one would hold the lock): it is
    taken over. A generation found settled (finished, or running its run) is simply replaced.
    """
    if current is None or current["run_id"] is None:
        return False
    claimed_meanwhile = seen is None or current["generation"] != seen["generation"]
    return claimed_meanwhile or is_starting(seen)


def claim(db: Database, session_id: str, topic: str, current: dict[str, Any] | None) -> str:
    """Make a new generation of ``topic`` the session's current one, conditionally on ``current`` (the row
    read under the session's lock), and discard the segments of the one it replaces; returns its token."""
    generation, now = str(uuid.uuid4()), now_utc()

    def write(tx: Database) -> None:
        if current is None:
            claimed = tx.execute(_INSERT_CLAIM, (session_id, generation, topic, STARTING, now, session_id))
        else:
            claimed = tx.execute(_CLAIM, (generation, topic, STARTING, now, session_id, current["generation"] or ""))
        if claimed != 1:  # only when the lock was lost (its connection dropped): another generate got in
            found = _row(tx, session_id) or {}
            raise GenerationConflict(session_id, found.get("topic"), found.get("run_id"))
        tx.execute(_DELETE_SEGMENTS, (session_id,))
        analysis.delete_session(tx, session_id)

    db.retry_transaction(write, what=f"claiming results session {session_id}")
    return generation


def attach(
    db: Database, session_id: str, generation: str, topic: str, run_id: str, history: dict[str, dict[str, Any]]
) -> bool:
    """Attach the started run and write the history segments, each stamped with the generation, topic
    and run, in one transaction, if ``generation`` is still the session's current one; False when not."""
    now = now_utc()

    def write(tx: Database) -> bool:
        if tx.execute(_ATTACH_RUN, (run_id, HISTORY_PERCENT, now, session_id, generation)) != 1:
            return False
        tx.execute(_DELETE_SEGMENTS, (session_id,))
        for segment, payload in history.items():
            stamped = {"segment": segment, "topic": topic, "run_id": run_id, **payload}
            tx.execute(_INSERT_SEGMENT, (session_id, segment, json.dumps(stamped), now, generation, topic, run_id))
        return True

    return db.retry_transaction(write, what=f"attaching run {run_id} to results session {session_id}")


def fail_start(db: Database, session_id: str, generation: str, reason: str) -> None:
    """The generation could not analyse its topic or start its run: failed, with the reason (which says
    which), unless it is no longer current."""
    db.retry_transaction(
        lambda tx: tx.execute(_FAIL_START, (STARTING, reason[:2000], now_utc(), session_id, generation)),
        what=f"failing the start of results session {session_id}",
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:1000]}" if text else type(exc).__name__


def _fail_start_quietly(db: Database, session_id: str, generation: str, reason: str) -> None:
    """``fail_start``, keeping the original error when the database is what failed (then the claim is
    reported abandoned once the lease is over)."""
    try:
        fail_start(db, session_id, generation, reason)
    except Exception as exc:  # noqa: BLE001 - the start's own error is the one to report
        log.warning(
            "results session %s: could not mark its failed start (%s); it is abandoned after the lease", session_id, exc
        )


def record_generation(
    db: Database,
    session_id: str,
    topic: str,
    run_id: str,
    history: dict[str, dict[str, Any]],
    *,
    lock_timeout_seconds: float = 30.0,
) -> str:
    """Make a run that is already started the session's current generation, with its history segments,
    replacing whatever the session had (the benchmark and tests use it); returns the generation."""
    with db.application_lock(session_lock(session_id), lock_timeout_seconds):
        generation = claim(db, session_id, topic, _row(db, session_id))
        attach(db, session_id, generation, topic, run_id, history)
    return generation


def analyse_generation(db: Database, session_id: str, generation: str, scenario: Scenario) -> analysis.Analysis:
    """Factors → patterns → rich content of the claimed generation's topic, its stage and percent moving
    through each, stored with the generation (in the transaction that moves it on to starting its run).
    GenerationConflict when the generation stopped being the session's current one meanwhile."""

    def stage(percent: int, name: str) -> None:
        moved = db.retry_transaction(
            lambda tx: tx.execute(_STAGE, (percent, name, now_utc(), session_id, generation)),
            what=f"moving results session {session_id} to {name}",
        )
        if moved != 1:
            found = _row(db, session_id) or {}
            raise GenerationConflict(session_id, found.get("topic"), found.get("run_id"))

    key, value = next(iter(scenario.segment.items())) if scenario.segment else ("all", None)
    result = analysis.analyse(db, key, value, stage=stage)

    def store(tx: Database) -> int:
        moved = tx.execute(_STAGE, (ANALYSED_PERCENT, STARTING, now_utc(), session_id, generation))
        if moved == 1:
            analysis.save(tx, session_id, generation, result, now_utc())
        return moved

    if db.retry_transaction(store, what=f"storing the analysis of results session {session_id}") != 1:
        found = _row(db, session_id) or {}
        raise GenerationConflict(session_id, found.get("topic"), found.get("run_id"))
    return result


def generate(session_id: str, topic: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Make ``topic`` the session's topic: compute the history segments, claim the session, analyse the
    topic (factors → patterns → rich content, stored with the generation), start the Monte Carlo run
    (queued) for Market and Product, attach it with the persona mix and the other history segments;
    returns the session's status.

    Concurrent generates of one session are serialised: they take turns under the session's lock, and
    one that arrived while another was on its way (claimed the session meanwhile, or was starting its run
    when it arrived) loses with GenerationConflict (HTTP 409) naming the winner's run and topic; a loser
    starts no run. "Concurrent" means overlapping requests, not a run still processing: a generate
    while the session's run is processing (a dashboard user who switches topic) replaces it, as one on a
    finished session does; the superseded run may finish, but its results are never served. Making the
    user wait minutes for a simulation they no longer want, or clear the session first, helps no one;
    two requests racing for one session are a double click or two tabs, where one answer is enough.

    The claim is written before the run starts, so a loser never starts a run; when starting the run
    fails, the claim is marked failed with the reason (the session is never left processing with no run;
    a generate that dies in between leaves a claim that is reported abandoned after the lease).
    """
    from scout.db import connect
    from scout.montecarlo.job import submit

    session_id = check_session_id(session_id)
    scenario = scenario_for(topic)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        seen = _row(db, session_id)  # what this request found on arrival
        check_segment(db, scenario)
        history = history_segments(db, scenario)
        if history["Consumer"]["transactions"] == 0:  # create_run would refuse it, after the claim
            raise InvalidInput(f"the segment {topic} has no transaction history")
        holding = False
        try:
            with db.application_lock(session_lock(session_id), settings["SCOUT_LOCK_TIMEOUT_SECONDS"]):
                holding = True
                current = _row(db, session_id)
                if current is not None and lost_to(current, seen):
                    raise GenerationConflict(session_id, current["topic"], current["run_id"])
                generation = claim(db, session_id, topic, current)
                step = "the analysis failed"
                try:
                    analyse_generation(db, session_id, generation, scenario)
                    step = "the run could not be started"
                    run = submit(scenario, settings=settings, session_id=session_id)
                except BaseException as exc:
                    _fail_start_quietly(db, session_id, generation, f"{step}: {_one_line(exc)}")
                    raise
                if not attach(db, session_id, generation, topic, run["run_id"], history):
                    found = _row(db, session_id) or {}  # the lock was lost and another generate got in
                    raise GenerationConflict(session_id, found.get("topic"), found.get("run_id"))
        except LockTimeout as exc:
            if holding or isinstance(exc, GenerationConflict):
                raise
            found = _row(db, session_id) or {}  # the winner is still starting its run after the whole wait
            raise GenerationConflict(session_id, found.get("topic"), found.get("run_id")) from None
    return status(session_id, settings=settings)


# -- reading a session ------------------------------------------------------------------------------------


def run_segments(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Market and Product of a completed run."""
    results = run["results"]
    common = {
        "topic": run["scenario"].get("name"),
        "run_id": run["run_id"],
        "horizon_days": run["horizon_days"],
        "iterations": results["iterations"],
    }
    return {
        "Market": {
            "segment": "Market",
            **common,
            "revenue": results["revenue"],
            "probability_above_target": results["probability_above_target"],
            "histogram": results["histogram"],
            "daily_fan": results.get("daily_fan"),
        },
        "Product": {"segment": "Product", **common, "units": results["units"]},
    }


def _stale(updated_at: datetime | None, now: datetime, lease_seconds: float) -> bool:
    return updated_at is not None and (now - updated_at).total_seconds() > lease_seconds


def progress_of(
    row: dict[str, Any], run: dict[str, Any] | None, *, now: datetime | None = None, lease_seconds: float = 300.0
) -> dict[str, Any]:
    """The session's state, percent, stage and error as its current generation's run makes them (pure).

    States: processing, completed, failed, abandoned. A run status this code does not know is treated
    as not completed (processing, with the run's own words). A run that stopped (``abandoned``: its
    heartbeat is older than the lease) makes the session abandoned with the stage the run reached; a
    claim whose generate died before starting its run is abandoned once it is older than the lease.
    """
    if run is None:
        if row["run_id"] is not None:
            return {
                "state": "failed",
                "percent": row["percent"],
                "stage": "failed",
                "error": f"its Monte Carlo run {row['run_id']} no longer exists",
            }
        if is_starting(row) and _stale(row["updated_at"], now or now_utc(), lease_seconds):
            return {
                "state": "abandoned",
                "percent": row["percent"],
                "stage": row["stage"],
                "error": f"the generate that claimed the session stopped before starting its run "
                f"(nothing for more than {lease_seconds:g} s)",
            }
        return {k: row[k] for k in ("state", "percent", "stage", "error")}
    status = run["status"]
    if status == "completed":
        return {"state": "completed", "percent": 100, "stage": "completed", "error": None}
    done = int(HISTORY_PERCENT + (100 - HISTORY_PERCENT) * run["batches_done"] / max(run["batches"], 1))
    if status == "failed":
        return {"state": "failed", "percent": done, "stage": "failed", "error": run["error"]}
    if status == "abandoned":
        return {
            "state": "abandoned",
            "percent": done,
            "stage": run["stage"],
            "error": run.get("error") or f"its Monte Carlo run {run['run_id']} stopped (no heartbeat within the lease)",
        }
    if status == "combining":
        stage = "combining scenario batches"
    elif status == "processing":
        stage = f"simulating scenarios ({run['batches_done']}/{run['batches']} batches)"
    else:
        stage = f"run {status}: {run.get('stage')}"
    return {"state": "processing", "percent": done, "stage": stage, "error": None}


def _status_row(db: Database, session_id: str) -> dict[str, Any]:
    row = _row(db, session_id)
    if row is None:
        raise NotFound(f"unknown session {session_id}")
    return row


def _run_of(db: Database, row: dict[str, Any], lease_seconds: float) -> dict[str, Any] | None:
    """The current generation's run as reported (``abandoned`` once silent for the lease), if it has one
    and it still exists."""
    from scout.montecarlo.runs import get_run

    if not row["run_id"]:
        return None
    try:
        return get_run(db, row["run_id"], lease_seconds=lease_seconds)
    except NotFound:
        return None


def _session(db: Database, session_id: str, settings: Settings) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The session's row with its progress as the run makes it, and the run; records a run's end once
    (completed or failed; an abandoned run may still be taken over and finish, so that is not recorded)."""
    lease = settings["SCOUT_RUN_LEASE_SECONDS"]
    row = _status_row(db, session_id)
    run = _run_of(db, row, lease)
    stored_state = row["state"]
    row.update(progress_of(row, run, lease_seconds=lease))
    if stored_state == "processing" and row["state"] in ("completed", "failed") and row["run_id"]:
        db.retry_transaction(
            lambda tx: tx.execute(
                _RECORD_RUN_END,
                (
                    row["state"],
                    row["percent"],
                    row["stage"],
                    row["error"],
                    now_utc(),
                    session_id,
                    row["generation"] or "",
                    row["run_id"],
                ),
            ),
            what=f"recording the end of results session {session_id}",
        )
    return row, run


def _served_run(row: dict[str, Any], run: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run whose Market and Product the session serves: its current generation's, once completed
    (a run started for the session, or one recorded for it by ``record_generation``)."""
    if run is None or run["status"] != "completed" or run["run_id"] != row["run_id"]:
        return None
    return run if run.get("session_id") in (None, row["session_id"]) else None


def _segments(db: Database, row: dict[str, Any], run: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    found = {
        name: json.loads(payload)
        for name, payload in db.query(_SELECT_SEGMENTS, (row["session_id"], row["generation"] or ""))
        if name not in RUN_SEGMENTS
    }
    served = _served_run(row, run)
    if served is not None:
        found.update(run_segments(served))
    return found


def _analysis_of(db: Database, row: dict[str, Any]) -> analysis.Analysis | None:
    """The current generation's stored analysis (re-evaluated if the pattern rules changed since)."""
    if not row["generation"]:
        return None
    return analysis.load(db, row["session_id"], row["generation"])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "generation"}


def status(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id = check_session_id(session_id)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        row, run = _session(db, session_id, settings)
        row["ready"] = sorted(_segments(db, row, run))
        return _public(row)


def segment(session_id: str, name: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id, wanted = check_session_id(session_id), segment_name(name)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        row, run = _session(db, session_id, settings)
        if wanted in RUN_SEGMENTS:
            served = _served_run(row, run)
            found = run_segments(served)[wanted] if served is not None else None
        else:
            stored = db.query_one(_SELECT_SEGMENT, (session_id, wanted, row["generation"] or ""))
            found = json.loads(stored[0]) if stored else None
        if found is not None:
            found = {**found, **analysis.segment_part(_analysis_of(db, row), wanted)}
    if found is None:
        raise NotFound(f"segment {wanted} of session {session_id} is not ready (state {row['state']})")
    return found


def complete(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    from scout.db import connect

    session_id = check_session_id(session_id)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        row, run = _session(db, session_id, settings)
        found = _segments(db, row, run)
        analysed = _analysis_of(db, row)
    return {
        "session_id": session_id,
        "state": row["state"],
        "topic": row["topic"],
        "run_id": row["run_id"],
        "segments": {
            name: {**found[name], **analysis.segment_part(analysed, name)} if name in found else None
            for name in SEGMENTS
        },
        "analysis": analysed.as_dict() if analysed is not None else None,
    }


def clear_rows(db: Database, session_id: str) -> int:
    """Delete the session (its row first, as ``generate`` writes it first); returns the rows of its state."""
    cleared = db.execute(_DELETE_STATUS, (session_id,))
    db.execute(_DELETE_SEGMENTS, (session_id,))
    analysis.delete_session(db, session_id)
    return cleared


def clear(session_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Delete the session; under its lock, so a generate starting its run finishes (or fails) first."""
    from scout.db import connect

    session_id = check_session_id(session_id)
    settings = settings or Settings.from_env()

    def delete(tx: Database) -> None:
        if clear_rows(tx, session_id) == 0:
            raise NotFound(f"unknown session {session_id}")

    with connect(settings) as db, db.application_lock(session_lock(session_id), settings["SCOUT_LOCK_TIMEOUT_SECONDS"]):
        db.retry_transaction(delete, what=f"clearing results session {session_id}")
    return {"session_id": session_id, "cleared": True}
