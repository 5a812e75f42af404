"""``scout personas infer [--full] [--json]``: score transactions and print counts per role."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer, table
from scout.personas import job


def format_counts(result: dict[str, Any]) -> str:
    total = sum(result["roles"].values()) or 1
    rows = [
        (role, count, f"{100 * count / total:.1f}%")
        for role, count in sorted(result["roles"].items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return (
        table(rows, ("role", "transactions", "share"))
        + f"\nscored {result['scored']} transaction(s) ({'full' if result['full'] else 'incremental'}); "
        f"{result['total']} in ref.transaction_personas; rules {result['rules_checksum'][:12]}"
    )


def _infer(args: argparse.Namespace) -> int:
    result = job.infer(trigger="cli", full=args.full, progress=progress_printer(args.json))
    emit(result, args.json, format_counts)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "personas", "shopper persona inference")
    p = add_command(
        commands,
        "infer",
        _infer,
        "score transactions from the rules in ref.persona_rules",
        "score transactions not yet scored under the current rules",
    )
    p.add_argument("--full", action="store_true", help="rescore every transaction")
