"""A topic's analysis: factors (with its parent's) → patterns → rich content; and how a session's analysis
is stored in ``results.computed_factors``, ``results.pattern_matches`` and ``results.segment_rich_content``,
read back, and re-evaluated when the pattern rules change (their checksum)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from scout.db.base import Database
from scout.results import content as rich, factors as fx, patterns as pt


@dataclass
class Analysis:
    topic: str
    segment_key: str
    parent_topic: str | None
    period: dict[str, str]
    factors: dict[str, fx.FactorValue]
    parent: dict[str, fx.FactorValue]
    patterns: list[pt.PatternResult]
    rules_checksum: str
    content: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "parent_topic": self.parent_topic,
            "period": self.period,
            "factors": [f.as_dict() for f in self.factors.values()],
            "parent_factors": [f.as_dict() for f in self.parent.values()],
            "patterns": [p.as_dict() for p in self.patterns],
            "rules_checksum": self.rules_checksum,
            "rich_content": self.content,
        }


def evaluate(
    topic: str,
    segment_key: str,
    parent_topic: str | None,
    period: dict[str, str],
    factors: dict[str, fx.FactorValue],
    parent: dict[str, fx.FactorValue],
    rules: list[pt.PatternRule],
) -> Analysis:
    """Patterns and rich content over computed factors (pure)."""
    matches = pt.evaluate_all(rules, segment_key, factors, parent if parent_topic else None)
    texts = rich.build(topic, parent_topic, factors, matches)
    return Analysis(topic, segment_key, parent_topic, period, factors, parent, matches, pt.rules_checksum(rules), texts)


def analyse(
    db: Database,
    key: str,
    value: str | None,
    *,
    days: int = fx.PERIOD_DAYS,
    stage: Callable[[int, str], None] | None = None,
) -> Analysis:
    """Factors of the segment and its parent, then patterns and rich content (``stage`` hears each step)."""
    say = stage or (lambda _p, _s: None)
    say(2, "computing factors")
    data = fx.load_topic_data(db, days)
    computed = fx.segment_factors(data, key, value)
    say(5, "matching patterns")
    rules = pt.load_rules(db)
    result = evaluate(
        computed.topic, key, computed.parent_topic, computed.period, computed.factors, computed.parent, rules
    )
    say(7, "writing rich content")
    return result


# -- storage ------------------------------------------------------------------------------------------------

_DELETE = (
    "DELETE FROM results.computed_factors WHERE session_id = ?",
    "DELETE FROM results.pattern_matches WHERE session_id = ?",
    "DELETE FROM results.segment_rich_content WHERE session_id = ?",
)
_INSERT_FACTOR = (
    "INSERT INTO results.computed_factors (session_id, generation, subject, factor_id, topic, period_start, "
    "period_end, factor_value, shrunk_value, n, ci_low, ci_high, ci_method, status, note, computed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_MATCH = (
    "INSERT INTO results.pattern_matches (session_id, generation, pattern_id, fired, status, evidence, "
    "rules_checksum, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CONTENT = (
    "INSERT INTO results.segment_rich_content (session_id, generation, segment, content, rules_checksum, "
    "computed_at) VALUES (?, ?, ?, ?, ?, ?)"
)
_DELETE_EVALUATION = (
    "DELETE FROM results.pattern_matches WHERE session_id = ? AND generation = ?",
    "DELETE FROM results.segment_rich_content WHERE session_id = ? AND generation = ?",
)
_SELECT_FACTORS = (
    "SELECT subject, factor_id, topic, period_start, period_end, factor_value, shrunk_value, n, ci_low, ci_high, "
    "ci_method, status, note FROM results.computed_factors WHERE session_id = ? AND generation = ? "
    "ORDER BY subject, factor_id"
)
_SELECT_MATCHES = (
    "SELECT pattern_id, fired, status, evidence, rules_checksum FROM results.pattern_matches "
    "WHERE session_id = ? AND generation = ? ORDER BY pattern_id"
)
_SELECT_CONTENT = (
    "SELECT segment, content FROM results.segment_rich_content WHERE session_id = ? AND generation = ? ORDER BY segment"
)


def delete_session(db: Database, session_id: str) -> None:
    for sql in _DELETE:
        db.execute(sql, (session_id,))


def _number(value: float | None) -> float | None:
    return None if value is None else round(float(value), 10)


def _write_evaluation(db: Database, session_id: str, generation: str, analysis: Analysis, now: datetime) -> None:
    db.executemany(
        _INSERT_MATCH,
        [
            (
                session_id,
                generation,
                p.id,
                p.fired,
                p.status,
                json.dumps(p.evidence, sort_keys=True),
                analysis.rules_checksum,
                now,
            )
            for p in analysis.patterns
        ],
    )
    db.executemany(
        _INSERT_CONTENT,
        [
            (session_id, generation, name, json.dumps(text), analysis.rules_checksum, now)
            for name, text in analysis.content.items()
        ],
    )


def save(db: Database, session_id: str, generation: str, analysis: Analysis, now: datetime) -> None:
    """Replace the session's stored analysis with this generation's (call inside a transaction)."""
    delete_session(db, session_id)
    start, end = analysis.period["current_start"], analysis.period["current_end"]
    rows = []
    for subject, topic, values in (
        ("segment", analysis.topic, analysis.factors),
        ("parent", analysis.parent_topic, analysis.parent),
    ):
        for f in values.values():
            rows.append(
                (
                    session_id,
                    generation,
                    subject,
                    f.id,
                    topic,
                    date.fromisoformat(start),
                    date.fromisoformat(end),
                    _number(f.value),
                    _number(f.shrunk_value),
                    f.n,
                    _number(f.ci_low),
                    _number(f.ci_high),
                    f.method,
                    f.status,
                    (f.note or "")[:200] or None,
                    now,
                )
            )
    db.executemany(_INSERT_FACTOR, rows)
    _write_evaluation(db, session_id, generation, analysis, now)


def _float(value: Any) -> float | None:
    return None if value is None else float(value) if isinstance(value, (Decimal, int, float)) else float(value)


def _iso(value: Any) -> str:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)[:10]


def load(db: Database, session_id: str, generation: str, rules: list[pt.PatternRule] | None = None) -> Analysis | None:
    """The generation's stored analysis; re-evaluated (and stored again) when the active rules' checksum
    differs from the one its matches were made under. None when the generation stored none."""
    rows = db.query_dicts(_SELECT_FACTORS, (session_id, generation))
    if not rows:
        return None
    factors: dict[str, fx.FactorValue] = {}
    parent: dict[str, fx.FactorValue] = {}
    topic, parent_topic, period = "", None, {}
    for r in rows:
        definition = fx.BY_ID.get(r["factor_id"])
        fv = fx.FactorValue(
            r["factor_id"],
            definition.name if definition else r["factor_id"],
            _float(r["factor_value"]),
            int(r["n"]),
            _float(r["ci_low"]),
            _float(r["ci_high"]),
            r["ci_method"],
            r["status"],
            _float(r["shrunk_value"]),
            r["note"],
        )
        if r["subject"] == "segment":
            factors[fv.id] = fv
            topic = r["topic"]
            period = {"current_start": _iso(r["period_start"]), "current_end": _iso(r["period_end"])}
        else:
            parent[fv.id] = fv
            parent_topic = r["topic"]
    factors = {d.factor_id: factors[d.factor_id] for d in fx.CATALOGUE if d.factor_id in factors}
    key = fx.parse_topic(topic)[0]
    rules = pt.load_rules(db) if rules is None else rules
    checksum = pt.rules_checksum(rules)
    stored = db.query_dicts(_SELECT_MATCHES, (session_id, generation))
    if stored and all(m["rules_checksum"] == checksum for m in stored):
        by_id = {r.pattern_id: r for r in rules}
        matches = [
            pt.PatternResult(
                m["pattern_id"],
                by_id[m["pattern_id"]].name,
                bool(m["fired"]),
                m["status"],
                json.loads(m["evidence"]),
                by_id[m["pattern_id"]].explanation,
                by_id[m["pattern_id"]].action,
                by_id[m["pattern_id"]].results_segment,
            )
            for m in stored
            if m["pattern_id"] in by_id
        ]
        texts = {name: json.loads(text) for name, text in db.query(_SELECT_CONTENT, (session_id, generation))}
        return Analysis(topic, key, parent_topic, period, factors, parent, matches, checksum, texts)
    analysis = evaluate(topic, key, parent_topic, period, factors, parent, rules)

    def rewrite(tx: Database) -> None:
        for sql in _DELETE_EVALUATION:
            tx.execute(sql, (session_id, generation))
        from scout.jobs.runs import now_utc

        _write_evaluation(tx, session_id, generation, analysis, now_utc())

    db.retry_transaction(rewrite, what=f"re-evaluating the patterns of results session {session_id}")
    return analysis


def segment_part(analysis: Analysis | None, segment: str) -> dict[str, Any]:
    """What a results segment shows of the analysis: its factors, its fired patterns, its text."""
    if analysis is None:
        return {}
    shown = {d.factor_id for d in fx.CATALOGUE if d.results_segment == segment}
    part: dict[str, Any] = {
        "factors": [f.as_dict() for f in analysis.factors.values() if f.id in shown],
        "patterns": [p.as_dict() for p in analysis.patterns if p.fired and p.results_segment == segment],
    }
    if segment in analysis.content:
        part["content"] = analysis.content[segment]
    return part
