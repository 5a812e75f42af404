"""A pure-Python scorer with exactly the semantics of the compiled SQL (scout.personas.compiler).

It exists to check the database: a property test feeds both random data and demands the same role
and reasons for every transaction (and confidence within 0.0001: the engines round differently).
Text is compared on its key (scout.db.collation.key: upper case, trailing spaces ignored), as Azure
SQL's default collation compares it; reasons name the rule's own spelling of what matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from scout.personas.rules import FALLBACK_ROLE, Rule, daypart_of, hour_in_window, text_key

_PUNCTUATION = re.compile(r"[.,!?;:()\"/\\\n\r\t]")


@dataclass
class Interaction:
    timestamp: datetime | None = None
    age: int | None = None
    gender: str | None = None
    emotional_state: str | None = None
    transcript: str | None = None


@dataclass
class Transaction:
    tx_id: str
    txn_ts: datetime
    total_items: int
    items: list[tuple[str | None, str | None]] = field(default_factory=list)  # (category, brand)
    interactions: list[Interaction] = field(default_factory=list)


@dataclass(frozen=True)
class Scored:
    role: str
    confidence: float
    reasons: str | None


def words_of(transcripts: list[str]) -> str:
    """Two spaces between transcripts: a phrase never spans two of them (nor depends on their order)."""
    text = "  ".join(transcripts).lower()
    return " " + _PUNCTUATION.sub(" ", text) + " "


def has_term(words: str, term: str) -> bool:
    return f" {term} " in words


def _first_match(found: list[str | None], wanted: tuple[str, ...]) -> str | None:
    """The rule's spelling of the first key (in code-point order) both in ``found`` and in ``wanted``."""
    spelling: dict[str, str] = {}
    for value in sorted(wanted):
        spelling.setdefault(text_key(value), value)
    keys = sorted({text_key(v) for v in found if v is not None} & set(spelling))
    return spelling[keys[0]] if keys else None


def _signals(tx: Transaction, rule: Rule, weights: dict[str, int]) -> list[tuple[int, int, str]]:
    """(weight, order, label) of every signal of ``rule`` that holds for ``tx``."""
    ts = [i.timestamp for i in tx.interactions if i.timestamp is not None]
    hour = (min(ts) if ts else tx.txn_ts).hour
    ages = [i.age for i in tx.interactions if i.age is not None]
    age = max(ages) if ages else None
    genders = [text_key(i.gender) for i in tx.interactions if i.gender is not None]
    gender = max(genders) if genders else None
    words = words_of([i.transcript for i in tx.interactions if i.transcript is not None])
    out = []
    if any(
        i.emotional_state is not None and i.emotional_state.strip(" ").upper() == text_key(rule.role_name)
        for i in tx.interactions
    ):
        out.append((weights["explicit"], 1, f"explicit:{rule.role_name}"))
    terms = sorted(t for t in rule.include_terms if has_term(words, t))
    if terms:
        out.append((weights["term"], 2, f"term:{terms[0]}"))
    category = _first_match([c for c, _ in tx.items], rule.categories)
    if category is not None:
        out.append((weights["category"], 3, f"category:{category}"))
    brand = _first_match([b for _, b in tx.items], rule.brands)
    if brand is not None:
        out.append((weights["brand"], 4, f"brand:{brand}"))
    if (
        age is not None
        and (rule.min_age is not None or rule.max_age is not None)
        and (rule.min_age is None or age >= rule.min_age)
        and (rule.max_age is None or age <= rule.max_age)
    ):
        out.append((weights["age"], 5, f"age:{age}"))
    if hour_in_window(hour, rule.hour_min, rule.hour_max):
        out.append((weights["hour"], 6, f"hour:{hour}"))
    if daypart_of(hour) in rule.dayparts:
        out.append((weights["daypart"], 7, f"daypart:{daypart_of(hour)}"))
    shown_gender = _first_match([gender], rule.genders)
    if shown_gender is not None:
        out.append((weights["gender"], 8, f"gender:{shown_gender}"))
    if rule.min_items is not None and tx.total_items >= rule.min_items:
        out.append((weights["items"], 9, f"items:{tx.total_items}"))
    return out


def score(tx: Transaction, rules: list[Rule], weights: dict[str, int]) -> Scored:
    words = words_of([i.transcript for i in tx.interactions if i.transcript is not None])
    scored = []
    for rule in rules:
        signals = _signals(tx, rule, weights)
        if not signals:
            continue
        total = sum(s[0] for s in signals) - weights["priority"] * rule.priority
        explicit = any(s[1] == 1 for s in signals)
        vetoed = any(has_term(words, t) for t in rule.exclude_terms)
        scored.append((total, rule, signals, explicit, vetoed))
    eligible = [s for s in scored if s[0] >= weights["threshold"] and (s[3] or not s[4])]
    if not eligible:
        best = max((s[0] for s in scored), default=None)
        threshold = weights["threshold"]
        if best is None or best <= 0:
            confidence = 1.0
        elif best >= threshold:
            confidence = 0.0
        else:
            confidence = round(1.0 - best / threshold, 4)
        return Scored(FALLBACK_ROLE, confidence, None)
    eligible.sort(key=lambda s: (-s[0], s[1].priority, s[1].role_name))
    total, rule, signals, _, _ = eligible[0]
    share = round(total / sum(s[0] for s in eligible), 4)
    top = sorted(signals, key=lambda s: (-s[0], s[1], s[2]))[:4]
    return Scored(rule.role_name, share, "; ".join(s[2] for s in top))
