"""Product, Brand and Experience text of a segment, built by templates from its factors and the patterns
that fired (no model, no invented text): every number shown is a factor with its 95 % interval, every
recommendation a fired pattern's action."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scout.results.factors import OK, FactorValue
from scout.results.patterns import PatternResult

CONTENT_SEGMENTS = ("Product", "Brand", "Experience")
#: The factors each text cites, and how their values read.
_CITED: dict[str, tuple[tuple[str, str], ...]] = {
    "Product": (("F5", "items"), ("F11", "peso"), ("F27", "share"), ("F19", "change")),
    "Brand": (("F8", "share"), ("F12", "index"), ("F22", "share"), ("F25", "points")),
    "Experience": (("F9", "share"), ("F23", "share"), ("F6", "share")),
}
_HEADLINES = {
    "Product": "What sells in {topic}, and how it is bought",
    "Brand": "Brands in {topic}",
    "Experience": "The shopping experience in {topic}",
}


def _number(value: float, kind: str) -> str:
    if kind == "peso":
        return f"PHP {value:,.2f}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "change":
        return f"{value:+.1%}"
    if kind == "points":
        return f"{value * 100:+.1f} points"
    if kind == "index":
        return f"{value:.3f}"
    return f"{value:,.2f}"


def describe(fv: FactorValue, kind: str) -> str:
    """``basket size 3.38 (95 % CI 3.26–3.51, n = 1,419)``, or why there is no value."""
    if fv.status != OK or fv.value is None or fv.ci_low is None or fv.ci_high is None:
        return f"{fv.name}: not enough data (n = {fv.n:,})"
    return (
        f"{fv.name} {_number(fv.value, kind)} (95 % CI {_number(fv.ci_low, kind)} to {_number(fv.ci_high, kind)}, "
        f"n = {fv.n:,})"
    )


def build(
    topic: str, parent_topic: str | None, factors: Mapping[str, FactorValue], patterns: Sequence[PatternResult]
) -> dict[str, dict[str, Any]]:
    """The three texts: a headline, one paragraph of cited factors, one per fired pattern."""
    out: dict[str, dict[str, Any]] = {}
    for segment in CONTENT_SEGMENTS:
        cited = [(fid, kind) for fid, kind in _CITED[segment] if fid in factors]
        facts = "; ".join(describe(factors[fid], kind) for fid, kind in cited)
        paragraphs = [f"In {topic}" + (f" (compared with {parent_topic})" if parent_topic else "") + f": {facts}."]
        fired = [p for p in patterns if p.fired and p.results_segment == segment]
        for p in fired:
            paragraphs.append(f"{p.name} ({p.id}): {p.explanation} Recommended: {p.action}")
        if not fired:
            paragraphs.append("No pattern of this segment clears its evidence threshold for this period.")
        out[segment] = {
            "segment": segment,
            "headline": _HEADLINES[segment].format(topic=topic),
            "paragraphs": paragraphs,
            "patterns": [p.id for p in fired],
            "factors": [fid for fid, _ in cited],
        }
    return out
