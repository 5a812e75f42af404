"""Persona rules and weights as read from ``ref.persona_rules`` / ``ref.persona_weights``: validated,
split into lists, and fingerprinted so a changed rule re-scores on the next run."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, cast

from scout.db.base import Database
from scout.db.collation import key
from scout.errors import InvalidInput

FALLBACK_ROLE = "Regular"
DAYPARTS = ("Morning", "Afternoon", "Evening", "Night")
SIGNALS = ("explicit", "term", "category", "brand", "age", "hour", "daypart", "gender", "items")
DEFAULT_WEIGHTS = {
    "explicit": 1000,
    "term": 100,
    "category": 50,
    "brand": 50,
    "age": 40,
    "hour": 30,
    "daypart": 25,
    "gender": 20,
    "items": 15,
    "priority": 2,
    "threshold": 150,
}

# Terms are matched with LIKE inside padded, lower-cased text: no wildcards or quotes may slip in.
_TERM = re.compile(r"^[a-z0-9][a-z0-9 &'.-]*$")
_VALUE = re.compile(r"^[^%_\[\]]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Rule:
    rule_id: int
    role_name: str
    priority: int
    include_terms: tuple[str, ...]
    exclude_terms: tuple[str, ...]
    categories: tuple[str, ...]
    brands: tuple[str, ...]
    dayparts: tuple[str, ...]
    hour_min: int | None
    hour_max: int | None
    min_items: int | None
    min_age: int | None
    max_age: int | None
    genders: tuple[str, ...]


def text_key(value: str) -> str:
    """The comparison key of a text that is never NULL (scout.db.collation.key: ``UPPER(RTRIM(x))``)."""
    return cast(str, key(value))


def split_list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split("|") if p.strip())


def daypart_of(hour: int) -> str:
    """Morning 05–11, Afternoon 12–17, Evening 18–22, Night 23–04 (the domain reference)."""
    if 5 <= hour <= 11:
        return "Morning"
    if 12 <= hour <= 17:
        return "Afternoon"
    if 18 <= hour <= 22:
        return "Evening"
    return "Night"


def hour_in_window(hour: int, lo: int | None, hi: int | None) -> bool:
    """Inclusive window; ``lo > hi`` wraps past midnight (22 → 5 holds 23:00 and 03:00)."""
    if lo is None or hi is None:
        return False
    return lo <= hour <= hi if lo <= hi else (hour >= lo or hour <= hi)


def _check(rule: Rule) -> Rule:
    where = f"persona rule {rule.rule_id} ({rule.role_name})"
    for term in rule.include_terms + rule.exclude_terms:
        if not _TERM.match(term):
            raise InvalidInput(f"{where}: term {term!r} may hold only letters, digits, spaces and & ' . -")
    for value in rule.categories + rule.brands + rule.genders + (rule.role_name,):
        if not _VALUE.match(value):
            raise InvalidInput(f"{where}: {value!r} contains a wildcard character")
        if _CONTROL.search(value):
            raise InvalidInput(f"{where}: {value!r} contains a control character")
    for part in rule.dayparts:
        if part not in DAYPARTS:
            raise InvalidInput(f"{where}: unknown daypart {part!r} (expected one of {', '.join(DAYPARTS)})")
    for hour in (rule.hour_min, rule.hour_max):
        if hour is not None and not 0 <= hour <= 23:
            raise InvalidInput(f"{where}: hours must be 0-23")
    if (rule.hour_min is None) != (rule.hour_max is None):
        raise InvalidInput(f"{where}: hour_min and hour_max go together")
    if text_key(rule.role_name) == text_key(FALLBACK_ROLE):  # Azure SQL compares case-insensitively
        raise InvalidInput(f"{where}: {FALLBACK_ROLE} is the fallback role, not a rule")
    return rule


def make_rule(row: dict[str, Any]) -> Rule:
    def num(name: str) -> int | None:
        value = row.get(name)
        return None if value is None or value == "" else int(value)

    return _check(
        Rule(
            rule_id=int(row["rule_id"]),
            role_name=str(row["role_name"]).strip(),
            priority=int(row["priority"]),
            include_terms=tuple(t.lower() for t in split_list(row.get("include_terms"))),
            exclude_terms=tuple(t.lower() for t in split_list(row.get("exclude_terms"))),
            categories=split_list(row.get("must_have_categories")),
            brands=split_list(row.get("must_have_brands")),
            dayparts=split_list(row.get("daypart_in")),
            hour_min=num("hour_min"),
            hour_max=num("hour_max"),
            min_items=num("min_items"),
            min_age=num("min_age"),
            max_age=num("max_age"),
            genders=split_list(row.get("gender_in")),
        )
    )


def load_rules(db: Database) -> list[Rule]:
    rows = db.query_dicts(
        "SELECT rule_id, role_name, priority, include_terms, exclude_terms, must_have_categories, must_have_brands, "
        "daypart_in, hour_min, hour_max, min_items, min_age, max_age, gender_in "
        "FROM ref.persona_rules WHERE is_active = 1 ORDER BY rule_id"
    )
    if not rows:
        raise InvalidInput("ref.persona_rules has no active rule: nothing to score with")
    rules = [make_rule(r) for r in rows]
    names = [text_key(r.role_name) for r in rules]  # one role, whatever its case or trailing spaces
    if len(set(names)) != len(names):
        raise InvalidInput("ref.persona_rules: two active rules share a role name")
    return rules


def load_weights(db: Database) -> dict[str, int]:
    weights = dict(DEFAULT_WEIGHTS)
    if db.table_exists("ref", "persona_weights"):
        seen = set()
        for signal, weight in db.query("SELECT signal, weight FROM ref.persona_weights"):
            name = text_key(signal).lower()  # 'Term ' is 'term', as Azure SQL's key on the column sees it
            if name not in DEFAULT_WEIGHTS:
                raise InvalidInput(f"ref.persona_weights: unknown signal {signal!r}")
            if name in seen:
                raise InvalidInput(f"ref.persona_weights: signal {name!r} is given twice")
            seen.add(name)
            weights[name] = int(weight)
    return weights


#: Raised when the meaning of a score changes in code (2: text compared as Azure SQL compares it,
#: transcripts apart), so that the next incremental run rescores what the old code scored.
SCORING_VERSION = 2


def load_calibration(db: Database) -> dict[str, list[tuple[int, float]]]:
    """The calibration map in force (``ref.persona_calibration``), per kind its (lower bound, confidence)
    bands in ascending order; empty when none is (the uncalibrated confidence)."""
    out: dict[str, list[tuple[int, float]]] = {}
    if not db.table_exists("ref", "persona_calibration"):
        return out
    for kind, lower, confidence in db.query(
        "SELECT kind, lower_bound, confidence FROM ref.persona_calibration ORDER BY kind, lower_bound"
    ):
        name = text_key(kind).lower()
        if name not in ("persona", "fallback"):
            raise InvalidInput(f"ref.persona_calibration: unknown kind {kind!r}")
        if not 0 <= float(confidence) <= 1:
            raise InvalidInput("ref.persona_calibration: a confidence must be from 0 to 1")
        out.setdefault(name, []).append((int(lower), float(confidence)))
    return out


def rules_checksum(
    rules: list[Rule], weights: dict[str, int], calibration: dict[str, list[tuple[int, float]]] | None = None
) -> str:
    """Fingerprint of everything that decides a score: active rules, weights, the calibration map (when
    one is in force) and the scoring code's version."""
    content: dict[str, object] = {"rules": [asdict(r) for r in rules], "weights": weights, "scoring": SCORING_VERSION}
    if calibration:
        content["calibration"] = {
            k: [[int(b), round(float(c), 4)] for b, c in v] for k, v in sorted(calibration.items())
        }
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
