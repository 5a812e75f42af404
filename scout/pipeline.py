"""``scout run``: the whole pipeline on the configured database, as the README's first command runs it.

migrate → demo seed (only when the source tables are empty) → persona inference → flat export →
one Monte Carlo run → the factors and patterns of all stores. Each stage is a normal recorded job (the
analysis only reads); the first failure stops the pipeline.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from scout.cli import emit, progress_printer


def run_pipeline(args: argparse.Namespace) -> int:
    from scout.demo import job as demo_job
    from scout.exports import job as export_job
    from scout.migrations import job as migrations_job
    from scout.migrations.cli import format_status
    from scout.personas import job as personas_job
    from scout.personas.cli import format_counts

    progress = progress_printer(args.json)
    say: Callable[[str], None] = (lambda _t: None) if args.json else print
    result: dict[str, Any] = {}

    result["migrations"] = migrations_job.apply(trigger="cli", progress=progress)
    say(format_status(migrations_job.status()))
    result["demo_seed"] = demo_job.seed(trigger="cli", only_if_empty=True, progress=progress)
    if not result["demo_seed"].get("skipped"):
        say(f"\nseeded demo data: {result['demo_seed']['transactions']:,} transactions")
    result["personas"] = personas_job.infer(trigger="cli", progress=progress)
    say("\n" + format_counts(result["personas"]))
    result["export"] = export_job.export_flat(trigger="cli", progress=progress)
    say("\n" + "\n".join(result["export"]["acceptance"]) + f"\nflat export: {result['export']['location']}")
    from scout.montecarlo.cli import format_run
    from scout.montecarlo.job import run_local

    run = run_local({"iterations": 1000, "horizon_days": 30, "seed": 42, "batches": 4}, progress=progress)
    result["montecarlo"] = {k: run[k] for k in ("run_id", "status", "iterations", "horizon_days", "results")}
    say("\nMonte Carlo, all stores, next 30 days:\n" + format_run(run))
    from scout.config import Settings
    from scout.db import connect
    from scout.results.analysis import analyse

    progress("analysing all stores: factors F1-F28, patterns P001-P041")
    with connect(Settings.from_env()) as db:
        analysed = analyse(db, "all", None)
    fired = [p for p in analysed.patterns if p.fired]
    result["analysis"] = {"period": analysed.period, "patterns_fired": [p.id for p in fired]}
    say(
        f"\nPatterns, all stores, {analysed.period['current_start']} to {analysed.period['current_end']}: "
        + (", ".join(f"{p.id} {p.name}" for p in fired) or "none fired")
        + "\n(scout results factors / scout results patterns for the evidence)"
    )
    if args.json:
        emit(result, True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the whole pipeline on the configured database",
        description="migrate, seed demo data when empty, infer personas, export, simulate",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_pipeline)
