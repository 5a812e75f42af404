"""Apply 200 generated migrations to a fresh DuckDB file, then time `status` with 200 applied.

`status` must not grow with the number of files beyond reading them: it makes one ledger query, so
its time minus the time to read the files stays flat from 50 to 200 files.

    .venv/bin/python bench/migrations_200.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from scout.db.duckdb_backend import DuckDBDatabase
from scout.migrations import files, runner


def generate(folder: Path, count: int) -> None:
    for i in range(1, count + 1):
        (folder / f"V{i:04d}__table_{i}.sql").write_text(
            f"CREATE TABLE dbo.t{i} (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50), at DATETIME2);\nGO\n"
            f"INSERT INTO dbo.t{i} (id, name, at) VALUES ({i}, CONCAT('row ', '{i}'), SYSUTCDATETIME());\n"
        )


def timed(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def run(count: int, tmp: Path) -> dict:
    folder = tmp / f"m{count}"
    folder.mkdir()
    generate(folder, count)
    db = DuckDBDatabase(str(tmp / f"bench{count}.duckdb"))
    t = time.perf_counter()
    result = runner.apply(db, files.discover(folder))
    apply_s = time.perf_counter() - t
    assert len(result["applied"]) == count
    read_s = timed(lambda: files.discover(folder))
    status_s = timed(lambda: runner.status(db, files.discover(folder)))
    db.close()
    return {"count": count, "apply_s": apply_s, "read_s": read_s, "status_s": status_s}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(n, Path(tmp)) for n in (50, 100, 200)]
    print(f"{'files':>5}  {'apply':>8}  {'status':>8}  {'read files':>10}  {'status - read':>13}")
    for r in rows:
        print(
            f"{r['count']:>5}  {r['apply_s']:7.2f}s  {r['status_s'] * 1000:6.1f}ms  {r['read_s'] * 1000:8.1f}ms"
            f"  {(r['status_s'] - r['read_s']) * 1000:11.1f}ms"
        )
    last = rows[-1]
    print(
        f"\n200 migrations applied in {last['apply_s']:.2f} s; status with 200 applied: {last['status_s'] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
