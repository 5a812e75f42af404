"""``scout personas compare`` at 1,000,000 synthetic legacy personas: rows compared per second.

The legacy tables are filled with the demo generator's rows (all 59 columns, org rows overlapping two
thirds, conflicts, invalid JSON), repeated with new ids and keys up to ``--rows`` dh rows; consolidated
once; then compared (both legacy tables against the registry, every column): a clean compare (the
key-range pass only), and a compare after one legacy value changed (key ranges, then row detail in the
one key range that differs). rows/s counts legacy rows (dh + org) over the compare's wall time. Goal: ≥ 1M
rows/s on DuckDB.

    .venv/bin/python bench/personas_compare.py [--rows 1000000] [--memory-limit 4GB]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scout.config import Settings  # noqa: E402
from scout.db import connect  # noqa: E402
from scout.demo.persona_sources import LEGACY_TABLES, generate  # noqa: E402
from scout.migrations import job as migrations  # noqa: E402
from scout.registry import job  # noqa: E402

TEMPLATE = 1_000  # distinct generated personas, repeated with new ids


def fill(db, rows: int) -> dict[str, int]:
    """Legacy tables with ``rows`` dh personas: the template repeated under new ids and keys (Arrow bulk load)."""
    import pyarrow as pa

    data = generate(TEMPLATE, seed=11)
    conn = db.connection
    counts = {}
    for table in reversed(LEGACY_TABLES):
        template = data[table]
        if table not in ("legacy.dh_personas", "legacy.org_personas"):
            arrow = pa.Table.from_pylist(template)
        else:
            copies = -(-rows // TEMPLATE)
            base = pa.Table.from_pylist(template)
            parts = []
            for k in range(copies):
                ids = pa.array([r["id"] + k * 10_000 for r in template], pa.int32())
                keys = pa.array([f"{r['unique_id']}-{k}" for r in template])
                part = base.set_column(base.schema.get_field_index("id"), "id", ids)
                parts.append(part.set_column(part.schema.get_field_index("unique_id"), "unique_id", keys))
            arrow = pa.concat_tables(parts)
            if table == "legacy.dh_personas":
                arrow = arrow.slice(0, rows)
        conn.register("_bench_rows", arrow)
        columns = ", ".join(arrow.column_names)
        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _bench_rows")
        conn.unregister("_bench_rows")
        counts[table] = arrow.num_rows
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="dh persona rows")
    parser.add_argument("--memory-limit", default="", help="DuckDB memory limit, e.g. 4GB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scout-bench-compare-") as folder:
        settings = Settings.from_env(
            {},
            SCOUT_DATABASE_URL=f"duckdb:///{Path(folder) / 'bench.duckdb'}",
            SCOUT_DUCKDB_MEMORY_LIMIT=args.memory_limit,
        )
        migrations.apply(trigger="cli", settings=settings)
        with connect(settings) as db:
            t0 = time.perf_counter()
            counts = fill(db, args.rows)
            legacy_rows = counts["legacy.dh_personas"] + counts["legacy.org_personas"]
            print(
                f"filled {counts['legacy.dh_personas']:,} dh + {counts['legacy.org_personas']:,} org rows in {time.perf_counter() - t0:.1f} s"
            )
            t0 = time.perf_counter()
            result = job.consolidate_in(db)
            print(
                f"consolidate: {result['personas']:,} personas, {result['conflicts']:,} conflicts in {time.perf_counter() - t0:.1f} s"
            )
            db.checkpoint()

            timings = []
            for _ in range(2):
                t0 = time.perf_counter()
                clean = job.compare_in(db, record=False)
                timings.append(time.perf_counter() - t0)
            assert clean["passed"], clean["mismatches"][:5]
            best = min(timings)
            print(
                f"compare, clean: {best:.2f} s (runs {', '.join(f'{t:.2f}' for t in timings)}) = "
                f"{legacy_rows / best:,.0f} rows/s; {clean['dh_personas']['key_ranges']} + "
                f"{clean['org_personas']['key_ranges']} key ranges"
            )

            db.execute("UPDATE legacy.dh_personas SET kpis = N'changed' WHERE id = 500")
            t0 = time.perf_counter()
            changed = job.compare_in(db, record=False)
            seconds = time.perf_counter() - t0
            found = [(m["table"], m["column"], m["first_key"]) for m in changed["mismatches"]]
            assert found == [("legacy.dh_personas", "kpis", "dh-000500-0")], found
            print(
                f"compare, one value changed: {seconds:.2f} s = {legacy_rows / seconds:,.0f} rows/s; "
                f"{changed['dh_personas']['differing_ranges']} range with row detail; found {found[0]}"
            )
            goal = legacy_rows / best >= 1_000_000
            print(f"goal >= 1,000,000 rows/s: {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
