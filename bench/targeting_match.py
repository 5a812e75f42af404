"""``scout targeting match`` of 100,000 new people against the demo's matching rules: people per second.

The demo generator's campaign-tool sources (companies, people with titles, engagements, 60 rules over
the consolidated demo personas) with ``--people`` people, none a target yet; one match run (the single
set-based statement), then a second run with nothing new (only people without a target are scored).

    .venv/bin/python bench/targeting_match.py [--people 100000]
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
from scout.demo.persona_sources import AS_OF, generate, generate_targeting, insert_generated  # noqa: E402
from scout.migrations import job as migrations  # noqa: E402
from scout.registry import job as registry  # noqa: E402
from scout.targeting import job  # noqa: E402

BULK = ("registry.persons", "registry.engagements")


def main() -> None:
    import pyarrow as pa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scout-bench-match-") as folder:
        settings = Settings.from_env({}, SCOUT_DATABASE_URL=f"duckdb:///{Path(folder) / 'bench.duckdb'}")
        migrations.apply(trigger="cli", settings=settings)
        with connect(settings) as db:
            data = generate()
            data.update(generate_targeting(data["legacy.dh_personas"], persons=args.people))
            bulk = {t: data.pop(t) for t in BULK}
            insert_generated(db, {t: [] for t in BULK} | data)
            for table in BULK:  # the big ones through Arrow
                arrow = pa.Table.from_pylist(bulk[table])
                db.connection.register("_bench_rows", arrow)
                columns = ", ".join(arrow.column_names)
                db.connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _bench_rows")
                db.connection.unregister("_bench_rows")
            registry.consolidate_in(db)
            engagements = len(bulk["registry.engagements"])
            print(
                f"{args.people:,} people, {engagements:,} engagements, {len(data['registry.persona_match_rules'])} rules"
            )

            t0 = time.perf_counter()
            first = job.match_in(db, as_of=AS_OF)
            seconds = time.perf_counter() - t0
            print(
                f"match: {first['matched']:,} targets of {first['people_considered']:,} people in {seconds:.2f} s "
                f"= {first['people_considered'] / seconds:,.0f} people/s (statement alone {first['seconds']:.2f} s)"
            )
            t0 = time.perf_counter()
            again = job.match_in(db, as_of=AS_OF)
            print(
                f"second run (only the {again['people_considered']:,} without a target): {time.perf_counter() - t0:.2f} s, "
                f"{again['matched']} new"
            )


if __name__ == "__main__":
    main()
