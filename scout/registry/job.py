"""The persona registry jobs: consolidate, compare, and the dual-write sync (scout personas ...).

- ``consolidate_in``: legacy.dh_personas + legacy.org_personas -> registry.*, in one transaction, set
  based (scout.registry.compiler); idempotent. Legacy tables are only read.
- ``compare_in``: old against new inside the database, keyed by persona: first, per key range, whether
  every row has its identical twin on the other side (one set-based join of the two sides' row texts),
  then row detail only in the ranges that differ. ``passed`` only at 100%.
- ``sync_in``: what the dual-write timer runs until cutover: compare (the drift), consolidate what
  changed, compare again; legacy tables are never written.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from scout.config import Settings
from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, now_utc, run_job
from scout.registry import compiler
from scout.registry.canonical import canonical_json
from scout.registry.columns import DH_COLUMNS, JSON_COLUMNS, ORG_COLUMNS

Progress = Callable[[str], None]
_quiet: Progress = lambda _m: None  # noqa: E731

#: Legacy JSON texts not yet in registry.json_forms (distinct byte for byte: binary, trailing spaces counted).
NEW_JSON_TEXTS = (
    "SELECT DISTINCT x.raw {bin2} AS raw, LEN(CONCAT(x.raw, N'.')) AS n FROM ("
    + " UNION ALL ".join(f"SELECT {j} AS raw FROM legacy.dh_personas" for j in JSON_COLUMNS)
    + ") AS x WHERE x.raw IS NOT NULL AND NOT EXISTS (SELECT 1 FROM registry.json_forms AS f "
    "WHERE f.raw_text = x.raw {bin2} AND LEN(CONCAT(f.raw_text, N'.')) = LEN(CONCAT(x.raw, N'.')))"
).format(bin2=compiler.BIN2)
INSERT_JSON_FORM = "INSERT INTO registry.json_forms (raw_sha256, raw_text, canonical) VALUES (?, ?, ?)"
DUPLICATE_KEYS = (
    "SELECT MIN(unique_id {bin2}), COUNT(*) FROM {table} GROUP BY UPPER(RTRIM(unique_id)) HAVING COUNT(*) > 1"
)
COUNTS = (
    "SELECT (SELECT COUNT(*) FROM registry.personas WHERE registry_source <> N'scout'), "
    "(SELECT COUNT(*) FROM registry.persona_industry_mapping), (SELECT COUNT(*) FROM registry.persona_role_mapping), "
    "(SELECT COUNT(*) FROM registry.persona_conflicts), (SELECT COUNT(*) FROM registry.persona_invalid_json)"
)
CONFLICTS_BY_COLUMN = (
    "SELECT column_name, COUNT(*) FROM registry.persona_conflicts GROUP BY column_name ORDER BY column_name"
)
RECORD_COMPARE = (
    "INSERT INTO registry.compare_runs (compare_id, started_at, finished_at, passed, personas_old, personas_new, "
    "differing_values, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Rows changed in the registry, for the consolidation's summary (registry_updated_at of this run).
TOUCHED = "SELECT COUNT(*) FROM registry.personas WHERE registry_updated_at >= ?"
_PARAMS_PER_DETAIL = 500  # key ranges per detail statement (SQL Server takes up to 2,100 parameters)


def register_json_forms(db: Database) -> int:
    """Record the canonical form of every legacy JSON text not seen before; returns how many."""
    seen: set[str] = set()
    rows = []
    for raw, _length in db.query(NEW_JSON_TEXTS):
        if raw in seen:
            continue
        seen.add(raw)
        rows.append((hashlib.sha256(raw.encode("utf-8")).hexdigest(), raw, canonical_json(raw)))
    if rows:
        db.executemany(INSERT_JSON_FORM, rows)
    return len(rows)


def _check_unique_keys(db: Database) -> None:
    for table in ("legacy.dh_personas", "legacy.org_personas"):
        duplicate = db.query_one(DUPLICATE_KEYS.format(table=table, bin2=compiler.BIN2))
        if duplicate:
            raise InvalidInput(
                f"{table} holds unique_id {duplicate[0]!r} {duplicate[1]} times (case and trailing spaces "
                "ignored): fix the legacy rows before consolidating"
            )


def consolidate_in(db: Database, *, progress: Progress = _quiet) -> dict[str, Any]:
    """Carry every legacy persona into the registry (one transaction); unchanged rows stay untouched."""
    _check_unique_keys(db)
    started = time.perf_counter()
    since = now_utc()
    with db.transaction():
        for statement in compiler.reference_statements():
            db.execute(statement)
        forms = register_json_forms(db)
        progress(f"{forms} new JSON text(s) canonicalised")
        db.execute(compiler.consolidate_personas())
        db.execute(compiler.consolidate_invalid_json())
        db.execute(compiler.consolidate_industry_mapping())
        db.execute(compiler.consolidate_role_mapping())
        db.execute(compiler.consolidate_conflicts())
        touched = int(db.query(TOUCHED, (since,))[0][0])
    personas, industries, roles, conflicts, invalid = (int(v) for v in db.query(COUNTS)[0])
    progress(f"consolidated in {time.perf_counter() - started:.1f} s")
    return {
        "personas": personas,
        "changed": touched,
        "industry_mappings": industries,
        "role_mappings": roles,
        "conflicts": conflicts,
        "conflicts_by_column": {k: int(v) for k, v in db.query(CONFLICTS_BY_COLUMN)},
        "invalid_json": invalid,
        "new_json_texts": forms,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _compare_side(db: Database, sql: compiler.CompareSql, ranges: list[tuple], progress: Progress) -> dict[str, Any]:
    """One legacy table against the registry: its key ranges (rng, old_rows, new_rows, same_range) from
    the first pass, then row detail in the ranges that differ."""
    side, columns = sql.side, sql.columns
    old_rows = sum(int(r[1]) for r in ranges)
    new_rows = sum(int(r[2]) for r in ranges)
    differing = sorted(int(r[0]) for r in ranges if not int(r[3]))
    progress(f"{side}: {len(ranges)} key range(s), {len(differing)} differ")
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for i in range(0, len(differing), _PARAMS_PER_DETAIL):
        chunk = differing[i : i + _PARAMS_PER_DETAIL]
        for column, kind, count, key in db.query(sql.detail(len(chunk)), (*chunk, *chunk)):
            before = found.get((column, kind))
            found[(column, kind)] = (
                (before[0] if before else 0) + int(count),
                min(key, before[1]) if before else key,
            )
    only_old = found.pop(("(row)", "only_in_old"), (0, None))
    only_new = found.pop(("(row)", "only_in_new"), (0, None))
    both = old_rows - only_old[0]
    per_column = {}
    for c in columns:
        counted = {kind: (n, key) for (col, kind), (n, key) in sorted(found.items()) if col == c.name}
        kinds = {kind: {"rows": n, "first_key": key} for kind, (n, key) in counted.items()}
        differ = sum(n for n, _ in counted.values())
        per_column[c.name] = {
            "matched": both - differ,
            "match_rate": round((both - differ) / old_rows, 6) if old_rows else (1.0 if not new_rows else 0.0),
            "differences": kinds,
        }
    return {
        "old_rows": old_rows,
        "new_rows": new_rows,
        "key_ranges": len(ranges),
        "differing_ranges": len(differing),
        "only_in_old": {"rows": only_old[0], "first_key": only_old[1]},
        "only_in_new": {"rows": only_new[0], "first_key": only_new[1]},
        "columns": per_column,
        "differing_values": sum(n for n, _ in found.values()),
    }


def compare_in(db: Database, *, record: bool = True, progress: Progress = _quiet) -> dict[str, Any]:
    """Old against new, keyed by persona; ``passed`` only when every column matches at 100% and no
    persona is on one side only. Recorded in registry.compare_runs (the cutover gate reads it)."""
    started_at, t0 = now_utc(), time.perf_counter()
    with db.transaction(snapshot=True):  # both sides as of one moment
        ranges = db.query(compiler.range_checksums())
        sides = {
            sql.side: _compare_side(db, sql, [r[1:] for r in ranges if int(r[0]) == sql.code], progress)
            for sql in compiler.SIDES
        }
        conflicts = {k: int(v) for k, v in db.query(CONFLICTS_BY_COLUMN)}
    mismatches = [
        {"table": f"legacy.{side}_personas", "column": column, "kind": kind, **detail}
        for side, result in sides.items()
        for column, info in result["columns"].items()
        for kind, detail in info["differences"].items()
    ]
    passed = all(
        r["differing_values"] == 0 and r["only_in_old"]["rows"] == 0 and r["only_in_new"]["rows"] == 0
        for r in sides.values()
    )
    seconds = time.perf_counter() - t0
    rows = sum(r["old_rows"] for r in sides.values())
    result = {
        "compare_id": str(uuid.uuid4()),
        "passed": passed,
        "dh_personas": sides["dh"],
        "org_personas": sides["org"],
        "mismatches": mismatches,
        "conflicts": conflicts,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds > 0 else None,
    }
    if record:
        summary = {
            "mismatches": mismatches[:50],
            "only_in_old": {s: r["only_in_old"] for s, r in sides.items()},
            "only_in_new": {s: r["only_in_new"] for s, r in sides.items()},
        }
        with db.transaction():
            db.execute(
                RECORD_COMPARE,
                (
                    result["compare_id"],
                    started_at,
                    now_utc(),
                    passed,
                    rows,
                    sum(r["new_rows"] for r in sides.values()),
                    sum(r["differing_values"] for r in sides.values()),
                    json.dumps(summary, default=str),
                ),
            )
    return result


def drift_of(result: dict[str, Any]) -> dict[str, int]:
    """How far the registry is behind the legacy tables, per table."""
    return {
        f"legacy.{side}_personas": result[f"{side}_personas"]["differing_values"]
        + result[f"{side}_personas"]["only_in_old"]["rows"]
        + result[f"{side}_personas"]["only_in_new"]["rows"]
        for side in ("dh", "org")
    }


#: The real (not vacuous) lifecycle steps taken: V098 cutover, V099 deprecation (registry.lifecycle).
LIFECYCLE = "SELECT step, decided_at FROM registry.lifecycle WHERE legacy_rows > 0"


def lifecycle_of(db: Database) -> dict[str, Any]:
    """``{"cutover": decided_at, "deprecation": decided_at}`` of the steps taken on legacy tables with rows."""
    if not db.table_exists("registry", "lifecycle"):
        return {}
    return {str(step): decided for step, decided in db.query(LIFECYCLE)}


def sync_in(db: Database, *, progress: Progress = _quiet) -> dict[str, Any]:
    """One dual-write step: the drift found, the changes carried, and the compare after (never writes legacy).
    After cutover (V098) the drift is only reported; after deprecation (V099) nothing is done."""
    state = lifecycle_of(db)
    if "deprecation" in state:
        progress("legacy persona tables deprecated: nothing to sync")
        return {"phase": "deprecated", "since": state["deprecation"], "carried": 0, "passed": True}
    before = compare_in(db, record=False, progress=progress)
    dual_write = "cutover" not in state
    carried = consolidate_in(db, progress=progress) if dual_write and not before["passed"] else None
    after = compare_in(db, progress=progress) if carried is not None else before
    return {
        "phase": "dual-write" if dual_write else "cut over",
        "drift_before": drift_of(before),
        "carried": carried["changed"] if carried else 0,
        "consolidation": carried,
        "drift_after": drift_of(after),
        "passed": after["passed"],
        "compare_id": after["compare_id"],
        "mismatches_after": after["mismatches"][:20],
    }


# -- recorded jobs -------------------------------------------------------------------------------------


def _recorded(
    name: str,
    work: Callable[[Database, Progress], dict[str, Any]],
    trigger: str,
    settings: Settings | None,
    invocation_id: str,
    progress: Progress | None,
) -> dict[str, Any]:
    def body(ctx: JobContext) -> dict[str, Any]:
        if not ctx.db.table_exists("registry", "personas"):
            raise InvalidInput(f"{ctx.db.display_name} has no persona registry: run scout migrate apply first")
        return work(ctx.db, ctx.progress)

    return run_job(name, trigger, body, settings=settings, invocation_id=invocation_id, progress=progress)


def consolidate(
    *, trigger: str, settings: Settings | None = None, invocation_id: str = "", progress: Progress | None = None
) -> dict[str, Any]:
    """Recorded job ``personas.consolidate``."""
    return _recorded(
        "personas.consolidate", lambda db, p: consolidate_in(db, progress=p), trigger, settings, invocation_id, progress
    )


def compare(
    *, trigger: str, settings: Settings | None = None, invocation_id: str = "", progress: Progress | None = None
) -> dict[str, Any]:
    """Recorded job ``personas.compare`` (a compare that does not pass is a result, not a failed run)."""
    return _recorded(
        "personas.compare", lambda db, p: compare_in(db, progress=p), trigger, settings, invocation_id, progress
    )


def sync(
    *, trigger: str, settings: Settings | None = None, invocation_id: str = "", progress: Progress | None = None
) -> dict[str, Any]:
    """Recorded job ``personas.sync``: the dual-write timer's step."""
    return _recorded("personas.sync", lambda db, p: sync_in(db, progress=p), trigger, settings, invocation_id, progress)


__all__ = ["DH_COLUMNS", "ORG_COLUMNS", "compare", "compare_in", "consolidate", "consolidate_in", "sync", "sync_in"]
