"""``scout export flat``: validate and publish the flat export sheet."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer
from scout.exports import job


def format_result(result: dict[str, Any]) -> str:
    return "\n".join(result["acceptance"] + [f"published to {result['location']}",
                                             "files: " + ", ".join(result["files"])])


def _flat(args: argparse.Namespace) -> int:
    result = job.export_flat(trigger="cli", out=args.out, limit=args.limit, formats=args.format, full=args.full,
                             progress=progress_printer(args.json))
    emit(result, args.json, format_result)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return number


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "export", "publish exports")
    p = add_command(commands, "flat", _flat, "one row per transaction, validated, as CSV + Parquet + manifest",
                    "stream dbo.v_flat_export_sheet, check base = rows = unique IDs, publish")
    p.add_argument("--out", help="folder or blob container URL (default: SCOUT_EXPORT_DESTINATION)")
    p.add_argument("--limit", type=_positive, help="export only the first N transactions (by ID)")
    p.add_argument("--format", default="csv,parquet", help="csv, parquet or both (default csv,parquet)")
    p.add_argument("--full", action="store_true",
                   help="summarize every basket again, not only new transactions (after item corrections)")
