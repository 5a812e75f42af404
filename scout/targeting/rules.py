"""Matching rules and weights as read from ``registry.persona_match_rules`` / ``registry.match_weights``:
validated, joined to the registry persona each names, and fingerprinted (a changed rule or weight
gives another checksum, recorded on every target it made)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from scout.db.base import Database
from scout.errors import InvalidInput

SIGNALS = ("title", "industry", "size", "engagements", "recency")
WEIGHT_NAMES = (*SIGNALS, "priority", "threshold")
#: Terms are matched with LIKE inside padded, lower-cased text: no wildcard or quote may slip in.
_TERM = re.compile(r"^[a-z0-9][a-z0-9 &.+-]*$")

RULES = (
    "SELECT r.rule_id, r.persona_unique_id, p.persona_id, r.title_terms, r.industry_id, i.name AS industry_name, "
    "r.min_employees, r.max_employees, r.min_engagements, r.recency_days, r.priority "
    "FROM registry.persona_match_rules AS r "
    "JOIN registry.personas AS p ON UPPER(RTRIM(p.unique_id)) = UPPER(RTRIM(r.persona_unique_id)) "
    "LEFT JOIN registry.industries AS i ON i.industry_id = r.industry_id "
    "WHERE r.is_active = 1 AND p.deleted_at IS NULL ORDER BY r.rule_id"
)
UNKNOWN_PERSONAS = (
    "SELECT r.rule_id, r.persona_unique_id FROM registry.persona_match_rules AS r WHERE r.is_active = 1 "
    "AND NOT EXISTS (SELECT 1 FROM registry.personas AS p WHERE UPPER(RTRIM(p.unique_id)) = UPPER(RTRIM(r.persona_unique_id))) "
    "ORDER BY r.rule_id"
)
WEIGHTS = "SELECT signal, weight FROM registry.match_weights"


@dataclass(frozen=True)
class MatchRule:
    rule_id: int
    persona_unique_id: str
    persona_id: str
    title_terms: tuple[str, ...]
    industry_id: int | None
    industry_name: str | None
    min_employees: int | None
    max_employees: int | None
    min_engagements: int | None
    recency_days: int | None
    priority: int


def make_rule(row: dict[str, Any]) -> MatchRule:
    where = f"match rule {row['rule_id']} ({row['persona_unique_id']})"
    terms = tuple(sorted({t.strip().lower() for t in (row.get("title_terms") or "").split("|") if t.strip()}))
    for term in terms:
        if not _TERM.match(term):
            raise InvalidInput(f"{where}: title term {term!r} may hold only letters, digits, spaces and & . + -")
    for name in ("min_employees", "max_employees", "min_engagements", "recency_days"):
        value = row.get(name)
        if value is not None and int(value) < 0:
            raise InvalidInput(f"{where}: {name} must not be negative")
    return MatchRule(
        rule_id=int(row["rule_id"]),
        persona_unique_id=str(row["persona_unique_id"]),
        persona_id=str(row["persona_id"]),
        title_terms=terms,
        industry_id=None if row.get("industry_id") is None else int(row["industry_id"]),
        industry_name=row.get("industry_name"),
        min_employees=None if row.get("min_employees") is None else int(row["min_employees"]),
        max_employees=None if row.get("max_employees") is None else int(row["max_employees"]),
        min_engagements=None if row.get("min_engagements") is None else int(row["min_engagements"]),
        recency_days=None if row.get("recency_days") is None else int(row["recency_days"]),
        priority=int(row["priority"]),
    )


def load_rules(db: Database) -> list[MatchRule]:
    return [make_rule(r) for r in db.query_dicts(RULES)]


def unknown_personas(db: Database) -> list[dict[str, Any]]:
    """Active rules naming a persona the registry does not have (skipped by matching)."""
    return [{"rule_id": int(r[0]), "persona_unique_id": r[1]} for r in db.query(UNKNOWN_PERSONAS)]


def load_weights(db: Database) -> dict[str, int]:
    weights = {str(k): int(v) for k, v in db.query(WEIGHTS)}
    missing = [w for w in WEIGHT_NAMES if w not in weights]
    if missing:
        raise InvalidInput(f"registry.match_weights lacks {', '.join(missing)}")
    return weights


def rules_checksum(rules: list[MatchRule], weights: dict[str, int]) -> str:
    # without the registry's persona ids (made per database): the same rules are the same everywhere
    kept = [{k: v for k, v in asdict(r).items() if k != "persona_id"} for r in rules]
    text = json.dumps({"rules": kept, "weights": weights}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
