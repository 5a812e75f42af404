"""``scout targeting match|recommend|performance``: people matched to personas, strategies per persona."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer, table


def format_match(r: dict[str, Any]) -> str:
    rows = sorted(r["by_persona"].items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    skipped = f"; {len(r['rules_skipped'])} rule(s) name no registry persona" if r["rules_skipped"] else ""
    return (
        (table(rows, ("persona", "new targets")) + "\n" if rows else "")
        + f"matched {r['matched']:,} of {r['people_considered']:,} people without a target "
        f"({r['rules']} rules, as of {r['as_of']}){skipped}"
    )


def format_recommend(r: dict[str, Any]) -> str:
    rows = [
        (p["persona"], s["rank"], s["strategy"], s["channel"], f"{s['relevance']:.4f}")
        for p in r["personas"]
        for s in p["strategies"]
    ]
    return table(rows, ("persona", "rank", "strategy", "channel", "relevance"))


def format_performance(r: dict[str, Any]) -> str:
    rows = [
        (
            p["unique_id"],
            p["targets"],
            p["campaigns"],
            p["engaged_people"],
            p["engagements"],
            f"{p['engagement_rate']:.3f}",
        )
        for p in r["personas"]
    ]
    return table(rows, ("persona", "targets", "campaigns", "engaged", "engagements", "rate"))


def _match(args: argparse.Namespace) -> int:
    from scout.targeting import job

    as_of = job.parse_as_of(args.as_of)
    emit(job.match(trigger="cli", as_of=as_of, progress=progress_printer(args.json)), args.json, format_match)
    return 0


def _read(what: str, args: argparse.Namespace) -> dict[str, Any]:
    from scout.config import Settings
    from scout.db import connect
    from scout.targeting import job

    top = job.check_top(args.top) if what == "recommend" else 0
    with connect(Settings.from_env()) as db:
        if what == "recommend":
            return job.recommend_in(db, persona=args.persona, top=top)
        return job.performance_in(db)


def _recommend(args: argparse.Namespace) -> int:
    emit(_read("recommend", args), args.json, format_recommend)
    return 0


def _performance(args: argparse.Namespace) -> int:
    emit(_read("performance", args), args.json, format_performance)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "targeting", "persona targeting: match people, recommend strategies")
    p = add_command(
        commands,
        "match",
        _match,
        "match people who have no target yet to personas (rules in registry.persona_match_rules)",
        "score every person without a target against the active matching rules (title terms as whole words, "
        "company industry and size, engagement counts and recency) and make the best match at or above the "
        "threshold a target, with score, confidence and reasons",
    )
    p.add_argument("--as-of", help="UTC date or date and time engagements are counted up to (default: now)")
    p = add_command(
        commands,
        "recommend",
        _recommend,
        "campaign strategies per persona, by relevance",
        "the most relevant active campaign strategies of each persona (registry.persona_strategies)",
    )
    p.add_argument("--persona", help="only this persona (its unique_id)")
    p.add_argument("--top", type=int, default=3, help="strategies per persona (1-100)")
    add_command(
        commands,
        "performance",
        _performance,
        "campaign performance by persona",
        "targets, campaigns, engaged people and engagements per persona (registry.v_campaign_performance_by_persona)",
    )
