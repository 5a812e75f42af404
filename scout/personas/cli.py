"""``scout personas infer [--full] [--json]``: score transactions and print counts per role."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer, table
from scout.personas import evaluate, fit, job
from scout.personas.compiler import HELD_OUT
from scout.personas.evaluate import PARTS


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


def format_report(report: dict[str, Any]) -> str:
    """The human rendering: headline per part, per-class precision/recall and confusion on held-out data."""
    parts = report["parts"]
    head = table(
        [
            (
                part,
                parts[part]["transactions"],
                f"{parts[part]['accuracy']:.3f}",
                f"{parts[part]['macro_f1']:.3f}",
                f"{parts[part]['ece']:.3f}",
                f"{parts[part]['regular_rate']:.3f}",
            )
            for part in PARTS
        ],
        ("part", "labelled", "accuracy", "macro-F1", "ECE", "Regular rate"),
    )
    held = parts[HELD_OUT]
    per_class = table(
        [
            (c, v["observed"], v["inferred"], f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}")
            for c, v in held["per_class"].items()
        ],
        ("role (held-out)", "observed", "inferred", "precision", "recall", "F1"),
    )
    classes = list(held["per_class"])
    confusion = table(
        [(label, *(held["confusion"].get(label, {}).get(c, 0) for c in classes)) for label in classes],
        ("observed \\ inferred", *(c[:8] for c in classes)),
    )
    lines = [head, "", per_class, "", confusion]
    if report.get("chart"):
        lines.append(f"\nreliability diagram: {report['chart']}")
    lines.append(
        f"\n{report['labelled']} labelled transaction(s), {report['held_out_percent']}% held out; "
        f"confidence {'calibrated' if report['calibrated'] else 'uncalibrated'}; rules {report['rules_checksum'][:12]}"
    )
    return "\n".join(lines)


def format_fit(result: dict[str, Any]) -> str:
    if "undone_fit_id" in result:
        return f"undid fit {result['undone_fit_no']} ({result['undone_fit_id']}): the weights before it are back"
    report = result["report"]
    rows = [
        (
            when,
            part,
            f"{report[when][part]['macro_f1']:.3f}",
            f"{report[when][part]['ece']:.3f}",
            f"{report[when][part]['accuracy']:.3f}",
            f"{report[when][part]['regular_rate']:.3f}",
        )
        for when in ("before", "after")
        for part in PARTS
    ]
    changed = [
        f"{k} {result['weights_before'][k]} -> {v}"
        for k, v in result["weights_after"].items()
        if result["weights_before"][k] != v
    ]
    verdict = (
        "applied" + (f" (weights: {', '.join(changed)})" if changed else " (calibration only)")
        if result["applied"]
        else "not applied: nothing was better on held-out data"
    )
    return (
        table(rows, ("", "part", "macro-F1", "ECE", "accuracy", "Regular rate"))
        + f"\nfit {result['fit_no']} ({result['fit_id']}) on {result['labelled']} labelled transactions: {verdict}"
        + (
            "\nrun `scout personas infer` to rescore; undo with `scout personas fit --undo`"
            if result["applied"]
            else ""
        )
    )


def _evaluate(args: argparse.Namespace) -> int:
    emit(evaluate.evaluate(chart=args.chart), args.json, format_report)
    return 0


def _fit(args: argparse.Namespace) -> int:
    emit(fit.fit(trigger="cli", undo=args.undo, progress=progress_printer(args.json)), args.json, format_fit)
    return 0


def _infer(args: argparse.Namespace) -> int:
    result = job.infer(trigger="cli", full=args.full, progress=progress_printer(args.json))
    emit(result, args.json, format_counts)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "personas", "shopper persona inference")
    from scout.registry.cli import add_commands  # the registry's consolidate, compare, sync

    add_commands(commands)
    p = add_command(
        commands,
        "infer",
        _infer,
        "score transactions from the rules in ref.persona_rules",
        "score transactions not yet scored under the current rules",
    )
    p.add_argument("--full", action="store_true", help="rescore every transaction")
    p = add_command(
        commands,
        "evaluate",
        _evaluate,
        "how often inference is right against staff-observed roles (held-out metrics, calibration)",
        "score the transactions with a staff-observed role, that observation masked, and report accuracy, "
        "macro-F1, per-role precision/recall, confusion, Regular rate and calibration per part of the fixed split",
    )
    p.add_argument("--chart", metavar="PATH", help="also write the reliability diagram as a PNG")
    p = add_command(
        commands,
        "fit",
        _fit,
        "fit weights, threshold and calibration on labelled transactions (kept only if better held-out)",
        "fit the weights and threshold (coordinate search on macro-F1) and the confidence calibration on the fit "
        "part; written to ref.persona_weights only when held-out macro-F1 improves; every fit is kept in "
        "ref.persona_fits",
    )
    p.add_argument("--undo", action="store_true", help="put back the weights from before the latest applied fit")
