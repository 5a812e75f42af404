"""Patterns P001–P041: rules over factors, kept as data in ``results.pattern_rules`` and fingerprinted
like the persona rules, so a changed rule re-evaluates stored factors.

A rule's condition is a small expression language, parsed here (never ``eval``):

    F2 < -10% and F2.hi < 0
    F9.lo > parent.F9.hi and F28.hi < 0

- ``F<n>`` is a factor's value; ``.lo`` / ``.hi`` its 95 % interval's bounds, ``.n`` its n; ``parent.F<n>``
  the same factor of the segment's parent. Numbers may end in ``%`` (``10%`` = 0.10).
- ``+ - * /``, comparisons ``< <= > >=``, ``and``, ``or``, ``not``, parentheses.
- Every condition must use at least one interval bound: a pattern fires on evidence, not on a point value.
- A rule that refers to a factor with insufficient data does not fire (status ``insufficient_data``); one
  that refers to the parent of a segment without one (``all``) is ``not_applicable``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from scout.db.base import Database
from scout.errors import InvalidInput
from scout.results.factors import BY_ID, OK, FactorValue

#: Raised when the meaning of an evaluation changes in code, so stored matches are re-evaluated.
EVALUATOR_VERSION = 1
SEGMENT_KEYS = ("all", "region", "store", "brand", "category", "role")
RESULTS_SEGMENTS = ("Market", "Consumer", "Product", "Brand", "Experience")
FIRED, NOT_FIRED, INSUFFICIENT, NOT_APPLICABLE = "fired", "not_fired", "insufficient_data", "not_applicable"
MAX_CONDITION = 1000

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?%?)|(?P<ref>(?:parent\.)?F\d{1,2}(?:\.(?:lo|hi|n))?)"
    r"|(?P<word>and|or|not)\b|(?P<op><=|>=|<|>|\+|-|\*|/|\(|\)))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Ref:
    """A factor reference: which factor, of the segment or its parent, and which part of it."""

    factor_id: str
    parent: bool
    part: str  # value | lo | hi | n

    @property
    def text(self) -> str:
        return ("parent." if self.parent else "") + self.factor_id + ("" if self.part == "value" else f".{self.part}")


Node = Any  # ("num", float) | ("ref", Ref) | (op, left, right) | ("neg", x) | ("not", x)


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.tokens: list[tuple[str, str]] = []
        at, text = 0, text.strip()
        while at < len(text):
            m = _TOKEN.match(text, at)
            if not m or m.end() == at:
                raise InvalidInput(f"{where}: cannot read the condition at {text[at : at + 20]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            at = m.end()
            while at < len(text) and text[at].isspace():
                at += 1
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, *values: str) -> str | None:
        token = self.peek()
        if token and token[0] in ("word", "op") and token[1].lower() in values:
            self.at += 1
            return token[1].lower()
        return None

    def parse(self) -> Node:
        if not self.tokens:
            raise InvalidInput(f"{self.where}: the condition is empty")
        node = self.disjunction()
        if self.peek() is not None:
            raise InvalidInput(f"{self.where}: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.take("or"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.take("and"):
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.take("not"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        op = self.take("<=", ">=", "<", ">")
        if op is None:
            return left
        return (op, left, self.sum())

    def sum(self) -> Node:
        node = self.product()
        while (op := self.take("+", "-")) is not None:
            node = (op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (op := self.take("*", "/")) is not None:
            node = (op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.take("-"):
            return ("neg", self.unary())
        if self.take("("):
            node = self.disjunction()
            if not self.take(")"):
                raise InvalidInput(f"{self.where}: a '(' is not closed")
            return node
        token = self.peek()
        if token is None:
            raise InvalidInput(f"{self.where}: the condition ends too early")
        kind, text = token
        self.at += 1
        if kind == "number":
            return ("num", float(text[:-1]) / 100 if text.endswith("%") else float(text))
        if kind == "ref":
            parts = text.split(".")
            parent = parts[0].lower() == "parent"
            if parent:
                parts = parts[1:]
            factor_id = parts[0].upper()
            if factor_id not in BY_ID:
                raise InvalidInput(f"{self.where}: unknown factor {factor_id}")
            return ("ref", Ref(factor_id, parent, parts[1].lower() if len(parts) > 1 else "value"))
        raise InvalidInput(f"{self.where}: unexpected {text!r}")


def parse_condition(text: str, where: str = "condition") -> Node:
    if len(text or "") > MAX_CONDITION:
        raise InvalidInput(f"{where}: the condition is longer than {MAX_CONDITION} characters")
    return _Parser(text or "", where).parse()


def refs_of(node: Node) -> list[Ref]:
    if node[0] == "ref":
        return [node[1]]
    if node[0] == "num":
        return []
    return [r for child in node[1:] for r in refs_of(child)]


def _is_boolean(node: Node) -> bool:
    return node[0] in ("and", "or", "not", "<", "<=", ">", ">=")


class _Missing(Exception):
    pass


def _evaluate(node: Node, values: Mapping[Ref, float]) -> Any:
    op = node[0]
    if op == "num":
        return node[1]
    if op == "ref":
        return values[node[1]]
    if op == "neg":
        return -_evaluate(node[1], values)
    if op == "not":
        return not _evaluate(node[1], values)
    if op == "and":
        return bool(_evaluate(node[1], values)) and bool(_evaluate(node[2], values))
    if op == "or":
        return bool(_evaluate(node[1], values)) or bool(_evaluate(node[2], values))
    left, right = _evaluate(node[1], values), _evaluate(node[2], values)
    if op == "/":
        if right == 0:
            raise _Missing("division by zero")
        return left / right
    return {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
    }[op]()


@dataclass(frozen=True)
class PatternRule:
    pattern_id: str
    name: str
    condition: str
    explanation: str
    action: str
    results_segment: str
    applies_to: tuple[str, ...] = ()  # segment keys; empty: every segment
    tree: Node = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("tree")
        return out


def make_rule(row: Mapping[str, Any]) -> PatternRule:
    """A rule from its row, checked: parsable, known factors and parts, at least one interval bound."""
    pattern_id = str(row["pattern_id"]).strip()
    where = f"pattern rule {pattern_id}"
    if not re.fullmatch(r"P\d{3}", pattern_id):
        raise InvalidInput(f"{where}: ids look like P001")
    condition = str(row["rule_condition"] or "")
    tree = parse_condition(condition, where)
    if not _is_boolean(tree):
        raise InvalidInput(f"{where}: the condition must be a comparison (or several joined by and/or)")
    if not any(r.part in ("lo", "hi") for r in refs_of(tree)):
        raise InvalidInput(f"{where}: the condition must use an interval bound (.lo or .hi) so it fires on evidence")
    applies = tuple(p.strip().lower() for p in str(row.get("applies_to") or "").split("|") if p.strip())
    unknown = [a for a in applies if a not in SEGMENT_KEYS]
    if unknown:
        raise InvalidInput(f"{where}: unknown segment key(s) {', '.join(unknown)}")
    segment = str(row.get("results_segment") or "Market").strip()
    if segment not in RESULTS_SEGMENTS:
        raise InvalidInput(f"{where}: results_segment must be one of {', '.join(RESULTS_SEGMENTS)}")
    return PatternRule(
        pattern_id,
        str(row["pattern_name"]).strip(),
        condition.strip(),
        str(row["explanation"] or "").strip(),
        str(row["recommended_action"] or "").strip(),
        segment,
        applies,
        tree,
    )


_SELECT_RULES = (
    "SELECT pattern_id, pattern_name, rule_condition, applies_to, results_segment, explanation, recommended_action "
    "FROM results.pattern_rules WHERE is_active = 1 ORDER BY pattern_id"
)


def load_rules(db: Database) -> list[PatternRule]:
    """The active rules, checked (an invalid one is an error naming it, never silently skipped)."""
    return [make_rule(r) for r in db.query_dicts(_SELECT_RULES)]


def rules_checksum(rules: list[PatternRule]) -> str:
    """Fingerprint of everything that decides a match: the active rules and the evaluator's version."""
    payload = json.dumps({"rules": [r.as_dict() for r in rules], "evaluator": EVALUATOR_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class PatternResult:
    id: str
    name: str
    fired: bool
    status: str
    evidence: dict[str, dict[str, Any]]
    explanation: str
    action: str
    results_segment: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _part(fv: FactorValue, part: str) -> float:
    value = {"value": fv.value, "lo": fv.ci_low, "hi": fv.ci_high, "n": fv.n}[part]
    if value is None:
        raise _Missing(fv.id)
    return float(value)


def evaluate(
    rule: PatternRule, segment_key: str, factors: Mapping[str, FactorValue], parent: Mapping[str, FactorValue] | None
) -> PatternResult:
    """Whether the rule fires on these factors, with the factors (value, n, interval, status) it used."""
    refs = refs_of(rule.tree)
    evidence: dict[str, dict[str, Any]] = {}
    status = None
    if rule.applies_to and segment_key not in rule.applies_to:
        status = NOT_APPLICABLE
    for ref in refs:
        source = parent if ref.parent else factors
        name = ("parent." if ref.parent else "") + ref.factor_id
        fv = source.get(ref.factor_id) if source else None
        if fv is None:
            status = status or NOT_APPLICABLE
            continue
        evidence[name] = {k: getattr(fv, k) for k in ("value", "n", "ci_low", "ci_high", "method", "status")}
        if fv.status != OK:
            status = status or INSUFFICIENT
    if status is None:
        try:
            values = {ref: _part((parent if ref.parent else factors)[ref.factor_id], ref.part) for ref in refs}  # type: ignore[index]
            status = FIRED if _evaluate(rule.tree, values) else NOT_FIRED
        except _Missing:
            status = INSUFFICIENT
    return PatternResult(
        rule.pattern_id,
        rule.name,
        status == FIRED,
        status,
        evidence,
        rule.explanation,
        rule.action,
        rule.results_segment,
    )


def evaluate_all(
    rules: list[PatternRule],
    segment_key: str,
    factors: Mapping[str, FactorValue],
    parent: Mapping[str, FactorValue] | None,
) -> list[PatternResult]:
    return [evaluate(rule, segment_key, factors, parent) for rule in rules]


# -- the seeded rules (V052 inserts exactly these; tests check both agree) -----------------------------------

NOT_ALL = "region|store|brand|category|role"
PRODUCTS = "brand|category|role"
#: (id, name, condition, applies_to, results segment, explanation, action)
DEFAULT_RULES: tuple[tuple[str, str, str, str | None, str, str, str], ...] = (
    (
        "P001",
        "Revenue decline",
        "F2 < -10% and F2.hi < 0",
        None,
        "Market",
        "Revenue fell by more than 10 % on the previous 28 days, and the whole interval is below zero.",
        "Check stock-outs, price changes and store closures in the segment before the next restock.",
    ),
    (
        "P002",
        "Revenue growth pocket",
        "F2 > 10% and F2.lo > 0",
        None,
        "Market",
        "Revenue grew by more than 10 %, and the whole interval is above zero.",
        "Protect availability: raise order quantities for the segment's best sellers.",
    ),
    (
        "P003",
        "Traffic loss",
        "F17 < -10% and F17.hi < 0",
        None,
        "Market",
        "Fewer transactions than in the previous period, beyond the noise.",
        "Visit the stores losing the most trips; check opening hours and competing outlets nearby.",
    ),
    (
        "P004",
        "Traffic gain",
        "F17 > 5% and F17.lo > 0",
        None,
        "Market",
        "More transactions than in the previous period, beyond the noise.",
        "Keep shelves full at peak hours so the new trips are not lost to stock-outs.",
    ),
    (
        "P005",
        "Basket shrinkage",
        "F19 < -5% and F19.hi < 0",
        None,
        "Product",
        "Shoppers put fewer items in each basket than in the previous period.",
        "Bundle complementary items (noodles with eggs, coffee with bread) and place them together.",
    ),
    (
        "P006",
        "Basket growth",
        "F19 > 5% and F19.lo > 0",
        None,
        "Product",
        "Baskets hold more items than in the previous period.",
        "Stock the add-on items that grew; check that the larger baskets do not empty shelves early.",
    ),
    (
        "P007",
        "Trading down",
        "F18 < -5% and F18.hi < 0",
        None,
        "Market",
        "Spend per trip fell beyond the noise: shoppers buy cheaper or fewer items per visit.",
        "Offer smaller pack sizes at lower price points so the trip is kept, not lost.",
    ),
    (
        "P008",
        "Trading up",
        "F18 > 5% and F18.lo > 0",
        None,
        "Market",
        "Spend per trip rose beyond the noise.",
        "Test premium variants and larger packs in the segment.",
    ),
    (
        "P009",
        "Share loss",
        "F25 < -2% and F25.hi < 0",
        NOT_ALL,
        "Brand",
        "The segment's share of its parent's revenue fell by more than 2 points.",
        "Compare prices and availability with the competitors that gained share in the same parent.",
    ),
    (
        "P010",
        "Share gain",
        "F25 > 2% and F25.lo > 0",
        NOT_ALL,
        "Brand",
        "The segment's share of its parent's revenue rose by more than 2 points.",
        "Secure supply and shelf space to hold the gained share.",
    ),
    (
        "P011",
        "Substitution pressure",
        "F9.lo > parent.F9.hi",
        NOT_ALL,
        "Experience",
        "Shoppers asking for this segment are substituted more often than in its parent.",
        "Check out-of-stocks of the segment's fast movers; agree a minimum stock with the stores.",
    ),
    (
        "P012",
        "Substitution with shrinking reach",
        "F9 > parent.F9 and F9.lo > parent.F9 and F28.hi < 0",
        NOT_ALL,
        "Experience",
        "Substitution is above the parent's while fewer of the parent's stores sell the segment.",
        "Restore distribution in the stores that dropped the segment; substitutes are taking its place.",
    ),
    (
        "P013",
        "Loyal demand",
        "F9.hi < parent.F9.lo",
        NOT_ALL,
        "Experience",
        "Shoppers of this segment are substituted less often than in its parent.",
        "The segment's shoppers wait for it: prioritise it in restocking, it does not lose sales to substitutes.",
    ),
    (
        "P014",
        "Narrow store reach",
        "F6.hi < 50%",
        PRODUCTS,
        "Market",
        "Fewer than half of the parent's active stores sell the segment.",
        "Extend distribution to the active stores that do not carry the segment yet.",
    ),
    (
        "P015",
        "Wide store reach",
        "F6.lo > 90%",
        PRODUCTS,
        "Market",
        "Nearly every active store of the parent sells the segment.",
        "Growth must come from frequency and basket size, not from more stores.",
    ),
    (
        "P016",
        "Losing stores",
        "F28.hi < 0",
        NOT_ALL,
        "Market",
        "The share of the parent's stores selling the segment fell.",
        "Call the stores that stopped selling the segment: stock-out, price, or delisting?",
    ),
    (
        "P017",
        "Gaining stores",
        "F28.lo > 0",
        NOT_ALL,
        "Market",
        "The share of the parent's stores selling the segment rose.",
        "Support the new stores with display material and a first restock.",
    ),
    (
        "P018",
        "Store churn",
        "F21.hi < 80%",
        PRODUCTS,
        "Market",
        "More than a fifth of the stores that sold the segment last period did not sell it again.",
        "Check whether the lapsed stores ran out or stopped ordering; offer smaller restock quantities.",
    ),
    (
        "P019",
        "Weekend-driven",
        "F10.lo > parent.F10.hi",
        NOT_ALL,
        "Consumer",
        "A larger share of the segment's transactions falls on weekends than in its parent.",
        "Deliver before Saturday and plan weekend promotions for the segment.",
    ),
    (
        "P020",
        "Weekday-driven",
        "F10.hi < parent.F10.lo",
        NOT_ALL,
        "Consumer",
        "The segment sells relatively more on weekdays than its parent.",
        "Restock early in the week; weekday routines (work, school) drive the segment.",
    ),
    (
        "P021",
        "Morning gap",
        "F13.hi < parent.F13.lo",
        NOT_ALL,
        "Consumer",
        "The segment sells less in the morning (05-11) than its parent does.",
        "Test breakfast bundles (coffee, bread, milk) to win morning trips.",
    ),
    (
        "P022",
        "Morning strength",
        "F13.lo > parent.F13.hi",
        NOT_ALL,
        "Consumer",
        "The segment sells more in the morning than its parent does.",
        "Make sure the segment is stocked before stores open.",
    ),
    (
        "P023",
        "Afternoon gap",
        "F14.hi < parent.F14.lo",
        NOT_ALL,
        "Consumer",
        "The segment sells less in the afternoon (12-17) than its parent does.",
        "Target snack and merienda occasions with the segment in the afternoon.",
    ),
    (
        "P024",
        "Evening gap",
        "F15.hi < parent.F15.lo",
        NOT_ALL,
        "Consumer",
        "The segment sells less in the evening (18-22) than its parent does.",
        "Check evening availability: shelves emptied during the day lose the after-work trips.",
    ),
    (
        "P025",
        "Evening strength",
        "F15.lo > parent.F15.hi",
        NOT_ALL,
        "Consumer",
        "The segment sells more in the evening than its parent does.",
        "Restock in the afternoon so the evening peak finds full shelves.",
    ),
    (
        "P026",
        "Night trade",
        "F16.lo > parent.F16.hi",
        NOT_ALL,
        "Consumer",
        "A larger share of the segment's trips happen at night (23-04) than in its parent.",
        "Night-shift shoppers rely on the segment: keep stores that open late supplied.",
    ),
    (
        "P027",
        "Concentrated market",
        "F12.lo > 25%",
        None,
        "Brand",
        "Brand revenue is concentrated (HHI above 0.25): one or two brands dominate.",
        "A challenger brand needs a price or pack-size reason to be tried; leaders should defend availability.",
    ),
    (
        "P028",
        "Fragmented market",
        "F12.hi < 10%",
        None,
        "Brand",
        "Brand revenue is spread over many brands (HHI below 0.10).",
        "Rationalise the assortment: fewer brands with better availability.",
    ),
    (
        "P029",
        "Category leader",
        "F8.lo > 35%",
        "brand",
        "Brand",
        "The brand holds more than 35 % of its category's revenue.",
        "Defend the lead: availability in every active store, no price gaps to the next brand.",
    ),
    (
        "P030",
        "Minor brand",
        "F8.hi < 5%",
        "brand",
        "Brand",
        "The brand holds less than 5 % of its category's revenue.",
        "Focus on the stores where it sells best, or review its place in the assortment.",
    ),
    (
        "P031",
        "Premium pricing",
        "F11.lo > parent.F11.hi * 1.1",
        NOT_ALL,
        "Product",
        "The segment's price per unit is more than 10 % above its parent's.",
        "Make sure shoppers see the premium's reason; watch substitution for cheaper options.",
    ),
    (
        "P032",
        "Value pricing",
        "F11.hi < parent.F11.lo * 0.9",
        NOT_ALL,
        "Product",
        "The segment's price per unit is more than 10 % below its parent's.",
        "Use the value position in store signage; check the margin it leaves the store owner.",
    ),
    (
        "P033",
        "Big baskets",
        "F5.lo > parent.F5.hi",
        NOT_ALL,
        "Product",
        "The segment's baskets hold more items than its parent's.",
        "Place the segment next to the items it is bought with.",
    ),
    (
        "P034",
        "Tingi buying",
        "F27.lo > parent.F27.hi",
        NOT_ALL,
        "Product",
        "More of the segment's baskets hold a single item than in its parent (sachet, per-piece buying).",
        "Keep single-serve and sachet sizes in stock; they are how the segment is bought.",
    ),
    (
        "P035",
        "Stock-up trips",
        "F27.hi < parent.F27.lo",
        NOT_ALL,
        "Product",
        "Fewer of the segment's baskets hold a single item than in its parent.",
        "Offer multi-packs and bundles for the stock-up trips.",
    ),
    (
        "P036",
        "Volatile revenue",
        "F20.lo > 50%",
        None,
        "Market",
        "Daily revenue varies strongly (coefficient of variation above 0.5).",
        "Plan restocks on the busy days; check whether the swings come from stock-outs.",
    ),
    (
        "P037",
        "Steady revenue",
        "F20.hi < 25%",
        None,
        "Market",
        "Daily revenue is steady (coefficient of variation below 0.25).",
        "A fixed restock schedule fits the segment.",
    ),
    (
        "P038",
        "Persona-concentrated",
        "F24.lo > parent.F24.hi",
        NOT_ALL,
        "Consumer",
        "The segment's shoppers are concentrated in fewer personas than its parent's.",
        "Target the leading persona directly: its daypart, its basket, its language.",
    ),
    (
        "P039",
        "Weekend spend premium",
        "F26 > 10% and F26.lo > 0",
        None,
        "Consumer",
        "Weekend trips spend more than 10 % more than weekday trips.",
        "Feature larger packs and bundles on weekends.",
    ),
    (
        "P040",
        "Frequent trips",
        "F7.lo > parent.F7.hi",
        NOT_ALL,
        "Consumer",
        "The segment's stores see more of its trips per week than the parent's stores see of the parent's.",
        "Frequent small trips: keep the segment at the counter and never out of stock.",
    ),
    (
        "P041",
        "Decline with substitution",
        "F2.hi < 0 and F23.lo > parent.F23.hi",
        NOT_ALL,
        "Experience",
        "Revenue fell while substitutions are above the parent's: shoppers are switching away.",
        "Find the substitutes shoppers take and close the availability or price gap to them.",
    ),
)


def default_rules() -> list[PatternRule]:
    return [
        make_rule(
            {
                "pattern_id": r[0],
                "pattern_name": r[1],
                "rule_condition": r[2],
                "applies_to": r[3],
                "results_segment": r[4],
                "explanation": r[5],
                "recommended_action": r[6],
            }
        )
        for r in DEFAULT_RULES
    ]
