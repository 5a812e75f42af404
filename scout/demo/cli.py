"""``scout demo seed``: realistic synthetic source data for the embedded default."""

from __future__ import annotations

import argparse

from scout.cli import add_command, command_group, emit, progress_printer
from scout.demo import job


def _seed(args: argparse.Namespace) -> int:
    if args.personas:  # the legacy persona tables (scout.demo.persona_sources)
        from scout.demo import persona_sources

        result = persona_sources.seed_job(
            trigger="cli", seed=args.seed, replace=args.replace, progress=progress_printer(args.json)
        )
        emit(result, args.json, lambda r: "seeded: " + ", ".join(f"{t} {n:,}" for t, n in r["rows"].items()))
        return 0
    if args.legacy:  # the legacy store/product database (scout.demo.legacy)
        from scout.demo import legacy

        result = legacy.seed_job(
            trigger="cli",
            transactions=legacy.LEGACY_TRANSACTIONS if args.transactions is None else args.transactions,
            seed=args.seed,
            replace=args.replace,
            progress=progress_printer(args.json),
        )
        emit(result, args.json, lambda r: "seeded: " + ", ".join(f"{t} {n:,}" for t, n in r["rows"].items()))
        return 0
    result = job.seed(
        trigger="cli",
        transactions=12047 if args.transactions is None else args.transactions,
        seed=args.seed,
        replace=args.replace,
        transcript_share=args.transcript_share,
        observed_share=args.observed_share,
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
    p.add_argument("--transactions", type=int, help="how many transactions (default: 12047; with --legacy: 376212)")
    p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    p.add_argument("--replace", action="store_true", help="delete existing source rows first")
    p.add_argument(
        "--personas",
        action="store_true",
        help="seed the legacy persona tables (legacy.dh_personas, legacy.org_personas and their reference tables)",
    )
    p.add_argument(
        "--legacy",
        action="store_true",
        help="seed the legacy store/product tables (legacy.*) at the legacy scale, with their hazards",
    )
    p.add_argument("--transcript-share", type=float, default=0.4, help="share of interactions with a transcript (0-1)")
    p.add_argument(
        "--observed-share", type=float, default=0.25, help="share of shoppers whose role staff observed (0-1)"
    )
