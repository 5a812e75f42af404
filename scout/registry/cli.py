"""``scout personas consolidate|compare|sync``: the persona registry's commands, added to the ``personas``
group by ``add_commands`` (scout/personas/cli.py calls it)."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, emit, progress_printer, table


def format_consolidation(r: dict[str, Any]) -> str:
    conflicts = ", ".join(f"{k} {v}" for k, v in r["conflicts_by_column"].items()) or "none"
    return (
        f"registry: {r['personas']} legacy personas ({r['changed']} changed now), {r['industry_mappings']} industry "
        f"and {r['role_mappings']} role mappings, {r['invalid_json']} invalid JSON text(s) kept verbatim\n"
        f"conflicts: {r['conflicts']} ({conflicts})"
    )


def format_compare(r: dict[str, Any]) -> str:
    lines = []
    for side in ("dh_personas", "org_personas"):
        s = r[side]
        lines.append(
            f"legacy.{side}: {s['old_rows']} old, {s['new_rows']} new, only in old {s['only_in_old']['rows']}, "
            f"only in new {s['only_in_new']['rows']}; {s['differing_ranges']}/{s['key_ranges']} key range(s) differ"
        )
    if r["mismatches"]:
        rows = [(m["table"], m["column"], m["kind"], m["rows"], m["first_key"]) for m in r["mismatches"]]
        lines.append(table(rows, ("table", "column", "kind", "rows", "first key")))
    lines.append(f"conflicts recorded: {sum(r['conflicts'].values())}")
    lines.append(("PASSED" if r["passed"] else "FAILED") + f" in {r['seconds']} s")
    return "\n".join(lines)


def format_sync(r: dict[str, Any]) -> str:
    if r["phase"] == "deprecated":
        return f"legacy persona tables deprecated since {r['since']}: nothing to sync"
    drift = ", ".join(f"{t} {n}" for t, n in r["drift_before"].items())
    return f"{r['phase']}: drift before: {drift}; carried {r['carried']} persona(s); " + (
        "PASSED" if r["passed"] else "FAILED"
    )


def _consolidate(args: argparse.Namespace) -> int:
    from scout.registry import job

    emit(job.consolidate(trigger="cli", progress=progress_printer(args.json)), args.json, format_consolidation)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from scout.registry import job

    result = job.compare(trigger="cli", progress=progress_printer(args.json))
    emit(result, args.json, format_compare)
    return 0 if result["passed"] else 1


def _sync(args: argparse.Namespace) -> int:
    from scout.registry import job

    result = job.sync(trigger="cli", progress=progress_printer(args.json))
    emit(result, args.json, format_sync)
    return 0 if result["passed"] else 1


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The registry's sub-commands of ``scout personas``."""
    add_command(
        commands,
        "consolidate",
        _consolidate,
        "carry legacy.dh_personas and legacy.org_personas into the persona registry (idempotent)",
        "carry both legacy persona tables into registry.personas and its mappings, conflicts recorded, "
        "nothing lost; running it again changes nothing unless legacy changed",
    )
    add_command(
        commands,
        "compare",
        _compare,
        "compare the legacy persona tables with the registry (exit 1 unless every value matches)",
        "old against new inside the database, keyed by persona: a check per key range, then row detail where "
        "ranges differ; per column match rates, rows only in old or new, conflicts (exit 1 unless it passes)",
    )
    add_command(
        commands,
        "sync",
        _sync,
        "the dual-write step: report drift, carry new and changed legacy rows, compare again",
        "compare, carry what changed in the legacy tables into the registry, compare again (legacy is never "
        "written); exit 1 if it still does not pass",
    )
