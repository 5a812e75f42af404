"""Flat export throughput and peak memory vs the old extractor, each in a fresh process.

Ours: stream the view in Arrow batches into CSV + Parquet, validate, publish (scout.exports.job).
Old: read the whole view into pandas, then ``to_csv``. Goals: >= 3x the rows per second, <= 1/4 of
the peak memory; our peak at 5,000,000 rows <= 1.2x that at 1,000,000, and under 1 GB.

Measured on the nightly state: baskets already summarized by an earlier export, as every export but
the first finds them (the old extractor reads the same view). The first export, which summarizes
every basket, is reported beside it.

    .venv/bin/python bench/export_flat.py [--sizes 1000000,5000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# DuckDB memory_limit of our export (SCOUT_DUCKDB_MEMORY_LIMIT): DuckDB keeps table blocks it has read
# cached up to it, so a process's memory grows with the data read until it reaches the limit.
MEMORY_LIMIT = "128MB"

CHILD = r"""
import json, resource, sys, time
path, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if mode == "ours":
    from scout.config import Settings
    from scout.db import connect
    from scout.exports.job import export_in
    settings = Settings.from_env({"SCOUT_DATABASE_URL": "duckdb:///" + path, "SCOUT_DUCKDB_MEMORY_LIMIT": sys.argv[4]})
    with connect(settings) as db:
        result = export_in(db, settings, "bench-run-0000", out=out)
    rows = result["export_rows"]
else:
    import duckdb
    con = duckdb.connect(path)
    frame = con.execute("SELECT * FROM dbo.v_flat_export_sheet").df()
    frame.to_csv(out + "/old.csv", index=False)
    rows = len(frame)
seconds = time.perf_counter() - t
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(source: Path, mode: str, memory_limit: str) -> dict:
    """One fresh process on a fresh copy of the database (a first export writes basket summaries)."""
    work = source.with_name(f"bench-export-{source.name}")
    shutil.copy(source, work)
    os.sync()  # the copy's (and the last run's) writes reach the disk now, not during the measured run
    try:
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(work), mode, out, memory_limit],
                capture_output=True,
                text=True,
                check=True,
            )
    finally:
        work.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(source: Path, modes: list[str], repeats: int, memory_limit: str) -> dict[str, dict]:
    """Each mode ``repeats`` times, interleaved so that the machine's slow spells (it is shared and
    noisy) fall on all of them alike: the median time, the highest peak, and each round's times."""
    rounds = [{mode: run_once(source, mode, memory_limit) for mode in modes} for _ in range(repeats)]
    return {
        mode: {
            "rows": rounds[0][mode]["rows"],
            "peak_mb": max(r[mode]["peak_mb"] for r in rounds),
            "seconds": statistics.median(r[mode]["seconds"] for r in rounds),
            "each": [r[mode]["seconds"] for r in rounds],
        }
        for mode in modes
    }


def in_child(code: str, *args: str) -> str:
    """Run set-up in a child process: a parent that grew while seeding would pass its peak memory on to
    every child it starts (ru_maxrss survives fork and exec)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); " + code,
            str(Path(__file__).parent),
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def prepared(n: int) -> tuple[Path, Path]:
    """The demo database as seeded and scored, and a copy whose baskets are already summarized (the
    state every nightly export after the first one finds)."""
    source = Path(in_child("from _data import demo_database; print(demo_database(int(sys.argv[2])))", str(n)))
    summarized = source.with_name(f"{source.stem}-baskets.duckdb")
    shutil.copy(source, summarized)
    in_child(
        "from scout.config import Settings; from scout.db import connect; "
        "from scout.exports.baskets import summarize; from scout.exports.ranges import split_points; "
        "db = connect(Settings.from_env({'SCOUT_DATABASE_URL': 'duckdb:///' + sys.argv[2]})); "
        "print(summarize(db, split_points(db))); db.close()",
        str(summarized),
    )
    return source, summarized


def report(label: str, result: dict) -> None:
    print(
        f"{label:<34} {result['rows'] / result['seconds']:>10,.0f} rows/s, {result['seconds']:6.2f} s, "
        f"peak {result['peak_mb']:6.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-limit", default=MEMORY_LIMIT)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    nightly = {}
    for n in sizes:
        source, summarized = prepared(n)
        try:
            modes = ["ours", "old"] if n == sizes[0] else ["ours"]
            measured = measure(summarized, modes, args.repeats, args.memory_limit)
            nightly[n] = measured["ours"]
            report(f"ours, nightly   {n:>9,} rows", nightly[n])
            first = run_once(source, "ours", args.memory_limit)
            report(f"ours, first run {n:>9,} rows", first)
            if "old" in measured:
                old = measured["old"]
                report(f"old             {n:>9,} rows", old)
                ratios = sorted(o / u for o, u in zip(old["each"], nightly[n]["each"]))
                print(
                    f"  speed-up {statistics.median(ratios):.2f}x, median of rounds "
                    f"{', '.join(f'{r:.2f}' for r in ratios)} (goal >= 3); "
                    f"memory {nightly[n]['peak_mb'] / old['peak_mb']:.2f} of the old (goal <= 0.25)"
                )
                print(
                    f"  first run: {old['seconds'] / first['seconds']:.2f}x, "
                    f"{first['peak_mb'] / old['peak_mb']:.2f} of the memory"
                )
        finally:
            summarized.unlink(missing_ok=True)
    if len(sizes) > 1:
        low, high = sizes[0], sizes[-1]
        print(
            f"peak at {high:,} / peak at {low:,}: {nightly[high]['peak_mb'] / nightly[low]['peak_mb']:.2f} "
            f"(goal <= 1.2), {nightly[high]['peak_mb']:.0f} MB (goal < 1024)"
        )


if __name__ == "__main__":
    main()
