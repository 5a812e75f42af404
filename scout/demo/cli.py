"""``scout demo seed``: realistic synthetic source data for the embedded default."""

from __future__ import annotations

import argparse

from scout.cli import add_command, command_group, emit, progress_printer
from scout.demo import job


def _seed(args: argparse.Namespace) -> int:
    result = job.seed(
        trigger="cli",
        transactions=args.transactions,
        seed=args.seed,
        replace=args.replace,
        progress=progress_printer(args.json),
    )
    emit(result, args.json, lambda r: "seeded: " + ", ".join(f"{t} {n:,}" for t, n in r["rows"].items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "demo", "synthetic demo data")
    p = add_command(
        commands,
        "seed",
        _seed,
        "fill the source tables with realistic synthetic data",
        "fill the source tables with realistic synthetic data (deterministic for a seed)",
    )
    p.add_argument("--transactions", type=int, default=12047, help="how many transactions")
    p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    p.add_argument("--replace", action="store_true", help="delete existing source rows first")
