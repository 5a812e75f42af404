"""Cold start: importing and indexing function_app vs a bare `import azure.functions`.

Each measurement is a fresh interpreter (as a new Functions worker is); the figure is the median of
the in-process time spent, so interpreter start-up cancels out. Goal: ratio <= 2.0.

    .venv/bin/python bench/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = "import time; t = time.perf_counter(); import azure.functions; print(time.perf_counter() - t)"
APP = (
    f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); t = time.perf_counter(); import function_app; "
    "function_app.app.get_functions(); print(time.perf_counter() - t)"
)


def measure(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    measure(BARE, 2)  # warm the OS file cache for both
    measure(APP, 2)
    bare, app = measure(BARE, args.runs), measure(APP, args.runs)
    print(f"bare import azure.functions : {bare * 1000:7.1f} ms (median of {args.runs})")
    print(f"import + index function_app : {app * 1000:7.1f} ms (median of {args.runs})")
    print(f"ratio                       : {app / bare:7.2f}  (goal <= 2.0)")


if __name__ == "__main__":
    main()
