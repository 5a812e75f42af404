"""``scout montecarlo run|show``: simulate a scenario in a local process pool (or resume a run whose process
died), or show a stored run (``abandoned`` once it has been silent longer than ``SCOUT_RUN_LEASE_SECONDS``)."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer, table
from scout.errors import InvalidInput
from scout.montecarlo import job
from scout.montecarlo.scenario import Scenario


def format_run(run: dict[str, Any]) -> str:
    lines = [
        f"run {run['run_id']}: {run['status']} ({run['percent']}%), {run['iterations']:,} iterations × "
        f"{run['horizon_days']} days in {run['batches']} batch(es)"
    ]
    results = run.get("results")
    if results:
        rows = [
            (
                name,
                *(f"{results[name][k]:,.0f}" for k in ("mean", "std", "p5", "p50", "p95")),
                f"{results[name]['mc_standard_error']:,.1f}",
            )
            for name in ("revenue", "units")
        ]
        lines.append(table(rows, ("", "mean", "std", "P5", "P50", "P95", "MC s.e.")))
        if results.get("probability_above_target") is not None:
            lines.append(f"P(revenue > {results['target']:,.0f}) = {results['probability_above_target']:.3f}")
    elif run.get("error"):
        lines.append(f"error: {run['error']}")
    if run["status"] == "abandoned":
        lines.append(f"resume it with: scout montecarlo run --resume {run['run_id']}")
    return "\n".join(lines)


def _segment(values: list[str] | None) -> dict[str, str]:
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--segment takes key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _run(args: argparse.Namespace) -> int:
    scenario = {
        "segment": _segment(args.segment) or None,
        "iterations": args.iterations,
        "horizon_days": args.horizon_days,
        "seed": args.seed,
        "batches": args.batches,
        "price_change_pct": args.price_change,
        "elasticity": args.elasticity,
        "promo_uplift_pct": args.promo_uplift,
        "store_change": args.store_change,
        "target": args.target,
    }
    given = {k: v for k, v in scenario.items() if v is not None}
    if args.resume is not None:
        if given:
            raise InvalidInput("--resume continues a stored run with its own scenario: give no scenario options")
        run = job.resume_local(args.resume, progress=progress_printer(args.json))
    else:
        run = job.run_local(given, progress=progress_printer(args.json))
    emit(run, args.json, format_run)
    return 0


def _show(args: argparse.Namespace) -> int:
    emit(job.show(args.run_id), args.json, format_run)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "montecarlo", "Monte Carlo scenario simulations")
    p = add_command(
        commands,
        "run",
        _run,
        "simulate a scenario here, in a process pool",
        "simulate a scenario's revenue and units over a horizon, in local batches",
    )
    p.add_argument(
        "--segment",
        action="append",
        metavar="KEY=VALUE",
        help="region, store, brand, category or role (repeatable; default: all stores)",
    )
    p.add_argument("--iterations", type=int, help=f"simulated futures (default: {Scenario.iterations})")
    p.add_argument("--horizon-days", type=int, help=f"days simulated ahead (default: {Scenario.horizon_days})")
    p.add_argument(
        "--seed", type=int, help="same seed, same numbers, whatever --batches (default: a fresh random seed)"
    )
    p.add_argument(
        "--batches",
        type=int,
        help=f"how many batches the run is split into, simulated in parallel (default: {Scenario.batches})",
    )
    p.add_argument(
        "--price-change", type=float, help=f"price change in percent (default: {Scenario.price_change_pct:g})"
    )
    p.add_argument(
        "--elasticity", type=float, help=f"price elasticity of transactions (default: {Scenario.elasticity})"
    )
    p.add_argument(
        "--promo-uplift",
        type=float,
        help=f"promotion uplift of transactions in percent (default: {Scenario.promo_uplift_pct:g})",
    )
    p.add_argument(
        "--store-change", type=int, help=f"change in the number of stores (default: {Scenario.store_change})"
    )
    p.add_argument("--target", type=float, help="revenue target: report P(revenue > target) (default: none)")
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue a run whose process died (shown abandoned): simulate only the batches not "
        "stored yet, then combine",
    )
    p = add_command(commands, "show", _show, "a stored run with its results")
    p.add_argument("run_id", help="the run id `scout montecarlo run` printed")
