"""Flat export throughput and peak memory vs the old extractor, each in a fresh process.

Ours: stream the view in Arrow batches into CSV + Parquet, validate, publish (scout.exports.job).
Old: read the whole view into pandas, then ``to_csv``. Goals: >= 3x the rows per second, <= 1/4 of
the peak memory; our peak at 5,000,000 rows <= 1.2x that at 1,000,000, and under 1 GB.

    .venv/bin/python bench/export_flat.py [--sizes 1000000,5000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

LIMIT = "512MB"  # DuckDB memory_limit for our export (SCOUT_DUCKDB_MEMORY_LIMIT): beyond it, DuckDB spills to disk

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


def run(path: Path, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, out, LIMIT], capture_output=True, text=True,
                              check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepared(n: int) -> Path:
    """The demo database, built in a child process: a parent that grew while seeding would pass its
    peak memory on to every child it starts (ru_maxrss survives fork and exec)."""
    done = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from _data import "
                           "demo_database; print(demo_database(int(sys.argv[2])))", str(Path(__file__).parent), str(n)],
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,5000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ours = {}
    for n in sizes:
        source = prepared(n)
        work = source.with_name(f"bench-export-{n}.duckdb")
        shutil.copy(source, work)
        ours[n] = run(work, "ours")
        print(f"ours {n:>9,} rows: {ours[n]['rows'] / ours[n]['seconds']:>10,.0f} rows/s, "
              f"{ours[n]['seconds']:6.1f} s, peak {ours[n]['peak_mb']:6.0f} MB")
        if n == sizes[0]:
            old = run(work, "old")
            print(f"old  {n:>9,} rows: {old['rows'] / old['seconds']:>10,.0f} rows/s, "
                  f"{old['seconds']:6.1f} s, peak {old['peak_mb']:6.0f} MB")
            print(f"  speed-up {old['seconds'] / ours[n]['seconds']:.2f}x (goal >= 3), "
                  f"memory {ours[n]['peak_mb'] / old['peak_mb']:.2f} of the old (goal <= 0.25)")
        work.unlink()
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        print(f"peak at {last:,} / peak at {first:,}: {ours[last]['peak_mb'] / ours[first]['peak_mb']:.2f} "
              f"(goal <= 1.2), {ours[last]['peak_mb']:.0f} MB (goal < 1024)")


if __name__ == "__main__":
    main()
