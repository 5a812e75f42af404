"""``scout medallion backfill|verify|contract|rollback|refresh|health``: the legacy → medallion runbook's steps."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer
from scout.jobs.runs import JobFailed
from scout.medallion import backfill as backfilling, gold, job


def _failed(exc: JobFailed, as_json: bool) -> int:
    """A failed verify (or a contract it refused): the report on stdout, one line on stderr, exit 1."""
    if as_json:
        emit({"error": "failed", "message": str(exc), "run_id": exc.run_id, **exc.summary}, True)
    print(f"scout: {exc}", file=sys.stderr)
    return 1


def _checks(report: dict[str, Any]) -> str:
    lines = [f"{'PASSED' if report['passed'] else 'FAILED'} (run {report.get('run_id')})"]
    lines += [f"  {'ok  ' if c['passed'] else 'FAIL'} {c['name']}" for c in report["checks"]]
    orphans = report["orphans"]
    lines.append(
        f"  orphans kept aside: {orphans['transactions_without_store']:,} without store, "
        f"{orphans['transactions_without_product']:,} without product"
    )
    return "\n".join(lines)


def _backfill(args: argparse.Namespace) -> int:
    printer = progress_printer(args.json)
    result = job.backfill(trigger="cli", batch_size=args.batch_size, progress=printer, step=printer.step)
    tx = result["transactions"]
    emit(
        result,
        args.json,
        lambda r: (
            f"backfill: {tx['copied']:,} transactions copied, {tx['orphans']:,} kept aside as orphans in "
            f"{tx['batches']} batch(es) of {r['batch_size']:,} ({r['rows_per_second']:,} rows/s)"
        ),
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        report = job.verify(trigger="cli", progress=progress_printer(args.json))
    except JobFailed as exc:
        if exc.summary.get("checks") and not args.json:
            print(_checks({**exc.summary, "run_id": exc.run_id}))
        return _failed(exc, args.json)
    emit(report, args.json, _checks)
    return 0


def _contract(args: argparse.Namespace) -> int:
    try:
        result = job.contract(trigger="cli", progress=progress_printer(args.json))
    except JobFailed as exc:
        return _failed(exc, args.json)
    emit(
        result,
        args.json,
        lambda r: (
            "contracted: legacy.geography, legacy.organization and legacy.transactions "
            "are views over silver; the tables are kept as legacy.*_pre_medallion"
        ),
    )
    return 0


def _rollback(args: argparse.Namespace) -> int:
    result = job.rollback(trigger="cli", full=args.full, progress=progress_printer(args.json))
    emit(
        result,
        args.json,
        lambda r: (
            f"rolled back ({'full' if r['full'] else 'quick'}): refresh off"
            + (", legacy tables restored" if r["legacy_tables_restored"] else "")
            + (f", undone {', '.join(r['undone'])}" if r.get("undone") else "")
        ),
    )
    return 0


def _refresh(args: argparse.Namespace) -> int:
    result = job.refresh(
        trigger="cli",
        lookback_days=args.lookback_days,
        full=args.full,
        enable=args.enable,
        progress=progress_printer(args.json),
    )

    def human(r: dict[str, Any]) -> str:
        if r["skipped"]:
            return f"skipped: {r['reason']}"
        return "refreshed: " + ", ".join(
            f"{name} {s['days_refreshed']} day(s), gaps filled {len(s['gaps_filled'])}"
            for name, s in r["sources"].items()
        )

    emit(result, args.json, human)
    return 0


def _health(args: argparse.Namespace) -> int:
    emit(job.health(), args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "medallion", "legacy → medallion: backfill, verify, contract, rollback, gold refresh")
    p = add_command(
        commands,
        "backfill",
        _backfill,
        "copy the legacy tables into silver in keyset batches (resumable)",
        "copy legacy stores, products and transactions into silver in keyset batches, each committed with its "
        "checkpoint; orphans are kept aside with their reason; a killed run resumes where it stopped",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=backfilling.DEFAULT_BATCH_SIZE,
        help=f"legacy rows per batch, 1 to {backfilling.MAX_BATCH_SIZE:,} (below SQL Server's 5,000-lock escalation)",
    )
    add_command(
        commands,
        "verify",
        _verify,
        "check every legacy row is in silver (exit 1 when not)",
        "counts, orphans by anti-join, a hash per key of every legacy column, foreign keys, compatibility views; "
        "exit 1 (a failed run, the alert fires) when any check fails",
    )
    add_command(
        commands,
        "contract",
        _contract,
        "replace the legacy tables by views over silver (refused unless verify passes)",
    )
    p = add_command(
        commands,
        "rollback",
        _rollback,
        "quick: refresh off, legacy tables back; --full: also undo the medallion migrations",
    )
    p.add_argument("--full", action="store_true", help="also undo V033..V031 (silver, bookkeeping, gold)")
    p = add_command(commands, "refresh", _refresh, "refresh gold's daily aggregates incrementally")
    p.add_argument(
        "--lookback-days",
        type=int,
        default=gold.DEFAULT_LOOKBACK_DAYS,
        help="days before the watermark's day rebuilt again, for rows changed in place",
    )
    p.add_argument("--full", action="store_true", help="rebuild every day")
    p.add_argument("--enable", action="store_true", help="switch the refresh back on (after a quick rollback)")
    add_command(commands, "health", _health, "per layer: rows, freshness, last refresh, gaps, last verify")
