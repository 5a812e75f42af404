"""Targeting jobs: match new people to registry personas (``scout targeting match``), recommend campaign
strategies per persona (``scout targeting recommend``), read campaign performance by persona."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scout.config import Settings
from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, now_utc, run_job
from scout.targeting.compiler import compile_match, match_parameters
from scout.targeting.rules import load_rules, load_weights, rules_checksum, unknown_personas

Progress = Callable[[str], None]
_quiet: Progress = lambda _m: None  # noqa: E731

PENDING = (
    "SELECT COUNT(*) FROM registry.persons AS p "
    "WHERE NOT EXISTS (SELECT 1 FROM registry.targets AS t WHERE t.person_id = p.person_id)"
)
BY_PERSONA = (
    "SELECT p.unique_id, COUNT(*) FROM registry.targets AS t JOIN registry.personas AS p ON p.persona_id = t.persona_id "
    "GROUP BY p.unique_id"
)
RECOMMEND = """SELECT persona_unique_id, persona_name, strategy_name, channel, relevance_score, rationale, rank_no
FROM (
    SELECT ps.persona_unique_id, p.name AS persona_name, s.name AS strategy_name, s.channel, ps.relevance_score,
           ps.rationale,
           ROW_NUMBER() OVER (PARTITION BY ps.persona_unique_id
                              ORDER BY ps.relevance_score DESC, s.name COLLATE Latin1_General_100_BIN2) AS rank_no
    FROM registry.persona_strategies AS ps
    JOIN registry.campaign_strategies AS s ON s.strategy_id = ps.strategy_id AND s.is_active = 1
    JOIN registry.personas AS p ON UPPER(RTRIM(p.unique_id)) = UPPER(RTRIM(ps.persona_unique_id))
    WHERE p.deleted_at IS NULL AND (? IS NULL OR UPPER(RTRIM(ps.persona_unique_id)) = UPPER(RTRIM(?)))
) AS ranked
WHERE rank_no <= ?
ORDER BY persona_unique_id COLLATE Latin1_General_100_BIN2, rank_no"""
PERFORMANCE = (
    "SELECT unique_id, name, targets, campaigns, engaged_people, engagements, engagement_rate "
    "FROM registry.v_campaign_performance_by_persona WHERE targets > 0 OR campaigns > 0 "
    "ORDER BY targets DESC, unique_id COLLATE Latin1_General_100_BIN2"
)
MAX_TOP = 100


def match_in(db: Database, *, as_of: datetime | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    """Make targets of the people who have none yet; the same data, rules and ``as_of`` give the same targets."""
    as_of = (as_of or now_utc()).replace(microsecond=0)
    rules = load_rules(db)
    weights = load_weights(db)
    if weights["threshold"] <= 0:
        raise InvalidInput("registry.match_weights: the threshold must be above 0")
    skipped = unknown_personas(db)
    if not rules:
        raise InvalidInput("registry.persona_match_rules has no active rule for a registry persona: nothing to match")
    checksum = rules_checksum(rules, weights)
    started = time.perf_counter()
    with db.transaction():
        pending = int(db.query(PENDING)[0][0])
        before = {k: int(v) for k, v in db.query(BY_PERSONA)}
        progress(f"matching {pending:,} people without a target against {len(rules)} rules")
        db.execute(compile_match(rules, weights, checksum), match_parameters(rules, as_of))
        after = {k: int(v) for k, v in db.query(BY_PERSONA)}
    made = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
    seconds = time.perf_counter() - started
    matched = sum(made.values())
    return {
        "people_considered": pending,
        "matched": matched,
        "unmatched": pending - matched,
        "by_persona": dict(sorted(made.items())),
        "rules": len(rules),
        "rules_skipped": skipped,
        "rules_checksum": checksum,
        "as_of": as_of.isoformat(),
        "seconds": round(seconds, 3),
        "people_per_second": round(pending / seconds) if seconds > 0 else None,
    }


def check_top(top: Any) -> int:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise InvalidInput(f"top must be a whole number from 1 to {MAX_TOP}")
    return top


def recommend_in(db: Database, *, persona: str | None = None, top: int = 3) -> dict[str, Any]:
    """The ``top`` strategies of each persona (or of one), by relevance; ties by strategy name."""
    check_top(top)
    if persona is not None and (not isinstance(persona, str) or not persona.strip() or len(persona) > 64):
        raise InvalidInput("persona must be a unique_id of at most 64 characters")
    rows = db.query_dicts(RECOMMEND, (persona, persona, top))
    by_persona: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_persona.setdefault(
            r["persona_unique_id"], {"persona": r["persona_unique_id"], "name": r["persona_name"], "strategies": []}
        )
        entry["strategies"].append(
            {
                "rank": int(r["rank_no"]),
                "strategy": r["strategy_name"],
                "channel": r["channel"],
                "relevance": float(r["relevance_score"]),
                "rationale": r["rationale"],
            }
        )
    if persona is not None and not by_persona:
        from scout.errors import NotFound

        raise NotFound(f"no strategies for persona {persona!r} (unknown persona, or none scored)")
    return {"top": top, "personas": list(by_persona.values())}


def performance_in(db: Database) -> dict[str, Any]:
    """Campaign performance by persona (registry.v_campaign_performance_by_persona)."""
    rows = db.query_dicts(PERFORMANCE)
    for r in rows:
        r["engagement_rate"] = float(r["engagement_rate"])
    return {"personas": rows}


def match(
    *,
    trigger: str,
    as_of: datetime | None = None,
    settings: Settings | None = None,
    invocation_id: str = "",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recorded job ``targeting.match``."""
    if as_of is not None and not isinstance(as_of, datetime):
        raise InvalidInput("as_of must be a date and time")

    def body(ctx: JobContext) -> dict[str, Any]:
        if not ctx.db.table_exists("registry", "targets"):
            raise InvalidInput(f"{ctx.db.display_name} has no targeting tables: run scout migrate apply first")
        return match_in(ctx.db, as_of=as_of, progress=ctx.progress)

    return run_job("targeting.match", trigger, body, settings=settings, invocation_id=invocation_id, progress=progress)


def parse_as_of(text: str | None) -> datetime | None:
    """``2025-06-30`` or ``2025-06-30T12:00:00`` (UTC), for the CLI and HTTP."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"as_of must be an ISO date or date and time, got {str(text)[:40]!r}") from None
    if value.tzinfo is not None:
        raise InvalidInput("as_of is UTC: give it without a time zone")
    return value
