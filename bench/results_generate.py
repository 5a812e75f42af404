"""Results sessions on 1,000,000 demo transactions, embedded DuckDB (issue 12).

1. Generating all five segments of one topic: ``generate`` (history, factors F1–F28 of the segment and its
   parent with bootstrap intervals, patterns P001–P041, rich content, the run submitted) then every
   Monte Carlo batch of the session's run, until the session is completed (goal < 60 s per topic).
   Queue messages go to an in-memory queue and are delivered here, as ``scout sql render`` does.
2. Reading a segment as GET segment/{session}/{segment} does (factors, patterns and text included), and
   the complete endpoint: median of 20 reads each (goal < 500 ms).

    .venv/bin/python bench/results_generate.py [--transactions 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import demo_database  # noqa: E402
from scout.sql.render import MemoryQueue  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    args = parser.parse_args()

    import scout.storage
    from scout.config import Settings
    from scout.db import connect
    from scout.montecarlo import BATCH_QUEUE, job as montecarlo
    from scout.results import sessions

    path = demo_database(args.transactions)
    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"})
    queues: dict[str, MemoryQueue] = {}
    scout.storage.queue_client = lambda _s, name, **_k: queues.setdefault(name, MemoryQueue())  # type: ignore[assignment]
    with connect(settings) as db:
        region = db.query_value("SELECT MIN(region) FROM dbo.Stores")
        store = db.query_value("SELECT MIN(store_id) FROM dbo.Stores")
        brand = db.query_value("SELECT MIN(brand) FROM dbo.TransactionItems")
        category = db.query_value("SELECT MIN(category) FROM dbo.TransactionItems")
        role = db.query_value("SELECT MIN([role]) FROM [ref].transaction_personas")
    topics = ["all", f"region:{region}", f"store:{store}", f"brand:{brand}", f"category:{category}", f"role:{role}"]

    print(f"{args.transactions:,} demo transactions, embedded DuckDB ({path})")
    print(f"{'topic':<28} {'generate':>9} {'run':>7} {'total':>7}  fired  goal < 60 s")
    worst = 0.0
    for number, topic in enumerate(topics):
        session = f"bench-{number}"
        started = time.perf_counter()
        sessions.generate(session, topic, settings=settings)
        generated = time.perf_counter()
        for body in queues[BATCH_QUEUE].take():
            montecarlo.run_queued_batch(body, settings=settings)
        state = sessions.status(session, settings=settings)
        done = time.perf_counter()
        assert state["state"] == "completed" and len(state["ready"]) == 5, state
        fired = sum(p["fired"] for p in sessions.complete(session, settings=settings)["analysis"]["patterns"])
        worst = max(worst, done - started)
        print(f"{topic:<28} {generated - started:8.1f}s {done - generated:6.1f}s {done - started:6.1f}s  {fired:5d}")

    reads = {}
    for name in sessions.SEGMENTS:
        times = []
        for _ in range(20):
            t = time.perf_counter()
            sessions.segment("bench-1", name, settings=settings)
            times.append(time.perf_counter() - t)
        reads[name] = statistics.median(times)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        sessions.complete("bench-1", settings=settings)
        times.append(time.perf_counter() - t)
    reads["complete"] = statistics.median(times)
    print("read (median of 20): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in reads.items()) + "  (goal < 500)")
    ok = worst < 60 and max(reads.values()) < 0.5
    print(f"slowest topic {worst:.1f} s; slowest read {max(reads.values()) * 1000:.0f} ms: {'OK' if ok else 'MISSED'}")
    for number in range(len(topics)):
        sessions.clear(f"bench-{number}", settings=settings)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
