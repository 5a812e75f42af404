"""``scout export flat``: validate and publish the flat export sheet."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer
from scout.errors import InvalidInput
from scout.exports import job


def format_result(result: dict[str, Any]) -> str:
    return "\n".join(
        result["acceptance"] + [f"published to {result['location']}", "files: " + ", ".join(result["files"])]
    )


def _flat(args: argparse.Namespace) -> int:
    result = job.export_flat(
        trigger="cli",
        out=args.out,
        limit=args.limit,
        formats=args.format,
        full=args.full,
        allow_shrink=args.allow_shrink,
        progress=progress_printer(args.json),
    )
    emit(result, args.json, format_result)
    return 0


def _limit(value: str) -> int:
    """``--limit``: a whole number in the range ``job.check_limit`` allows (argparse then exits 2)."""
    try:
        return job.check_limit(int(value))  # type: ignore[return-value]
    except (ValueError, InvalidInput):
        raise argparse.ArgumentTypeError(f"must be a positive whole number, at most {job.MAX_LIMIT}") from None


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "export", "publish exports")
    p = add_command(
        commands,
        "flat",
        _flat,
        "one row per transaction, validated, as CSV + Parquet + manifest",
        "stream dbo.v_flat_export_sheet, check base = rows = unique IDs, publish",
    )
    p.add_argument("--out", help="folder or blob container URL (default: SCOUT_EXPORT_DESTINATION)")
    p.add_argument("--limit", type=_limit, help="export only the first N transactions (by ID; default: all)")
    p.add_argument("--format", default="csv,parquet", help="csv, parquet or both, comma-separated")
    p.add_argument(
        "--full",
        action="store_true",
        help="summarize every basket again, not only new transactions (after item corrections)",
    )
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even if the export has 0 rows or fewer than half the rows of the latest "
        "full export (refused otherwise, as a failed validation)",
    )
