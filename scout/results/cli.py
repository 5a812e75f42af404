"""``scout results factors|patterns --segment KEY=VALUE [--days N] [--json]``: a segment's factors F1–F28
with their 95 % intervals, or the patterns P001–P041 evaluated on them, computed now from the database."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, table
from scout.errors import InvalidInput
from scout.results.factors import PERIOD_DAYS

FACTOR_FIELDS = ("id", "name", "value", "n", "ci_low", "ci_high", "method", "status")
PATTERN_FIELDS = ("id", "name", "fired", "evidence", "explanation", "action")


def _segment(raw: str | None) -> tuple[str, str | None]:
    if raw is None or raw.strip().lower() == "all":
        return "all", None
    key, sep, value = raw.partition("=")
    if not sep or not value.strip():
        raise InvalidInput(f"--segment takes KEY=VALUE (or all), got {raw!r}")
    return key.strip(), value.strip()


def _analyse(args: argparse.Namespace) -> Any:
    from scout.config import Settings
    from scout.db import connect
    from scout.montecarlo.scenario import SEGMENT_KEYS, Scenario, check_segment
    from scout.results.analysis import analyse

    key, value = _segment(args.segment)
    if key != "all":
        if key not in SEGMENT_KEYS:
            raise InvalidInput(f"unknown segment key {key!r}; keys: all, {', '.join(SEGMENT_KEYS)}")
    with connect(Settings.from_env()) as db:
        if key != "all" and value is not None:
            check_segment(db, Scenario(segment={key: value}))
        return analyse(db, key, value, days=args.days)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.0f}"


def format_factors(rows: list[dict[str, Any]]) -> str:
    return table(
        [
            (
                r["id"],
                r["name"],
                _number(r["value"]),
                f"{_number(r['ci_low'])} .. {_number(r['ci_high'])}",
                r["n"],
                r["method"],
                r["status"],
            )
            for r in rows
        ],
        ("id", "factor", "value", "95% interval", "n", "method", "status"),
    )


def format_patterns(rows: list[dict[str, Any]]) -> str:
    fired = [r for r in rows if r["fired"]]
    lines = [f"{len(fired)} of {len(rows)} pattern(s) fired"]
    for r in fired:
        used = ", ".join(
            f"{k} {_number(v['value'])} [{_number(v['ci_low'])}, {_number(v['ci_high'])}]"
            for k, v in r["evidence"].items()
        )
        lines.append(f"{r['id']} {r['name']}: {r['explanation']}\n    evidence: {used}\n    action: {r['action']}")
    return "\n".join(lines)


def _factors(args: argparse.Namespace) -> int:
    result = _analyse(args)
    rows = [
        {k: f.as_dict()[k] for k in ("name", "value", "n", "ci_low", "ci_high", "method", "status")} | {"id": f.id}
        for f in result.factors.values()
    ]
    emit([{k: r[k] for k in FACTOR_FIELDS} for r in rows], args.json, format_factors)
    return 0


def _patterns(args: argparse.Namespace) -> int:
    result = _analyse(args)
    rows = [{k: p.as_dict()[k] for k in PATTERN_FIELDS} for p in result.patterns]
    emit(rows, args.json, format_patterns)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "results", "results analysis: factors and patterns of a segment")
    for name, handler, text in (
        ("factors", _factors, "factors F1-F28 of a segment, with their 95 percent intervals"),
        ("patterns", _patterns, "patterns P001-P041 evaluated on a segment's factors"),
    ):
        p = add_command(commands, name, handler, text)
        p.add_argument(
            "--segment",
            metavar="KEY=VALUE",
            help="all, or region, store, brand, category or role = value (default: all)",
        )
        p.add_argument(
            "--days",
            type=int,
            default=PERIOD_DAYS,
            help=f"period length in days, compared with the one before (default: {PERIOD_DAYS})",
        )
