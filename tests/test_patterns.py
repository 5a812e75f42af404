"""Patterns P001–P041: a condition language parsed (never evaluated as code), rules that fire only when a
factor's interval clears the threshold, never on insufficient data, with the evidence they used; and
stored matches re-evaluated when the rules change (their checksum), as persona rules are."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from scout.db import connect
from scout.errors import InvalidInput
from scout.results import analysis, patterns as pt
from scout.results.factors import CATALOGUE, FactorValue


def factor(
    fid: str, value: float | None, low: float | None = None, high: float | None = None, n: int = 500
) -> FactorValue:
    if value is None:
        return FactorValue(fid, fid, None, n, None, None, "bootstrap_bca", "insufficient_data", note="n below minimum")
    return FactorValue(
        fid, fid, value, n, value if low is None else low, value if high is None else high, "bootstrap_bca", "ok"
    )


def rule(condition: str, applies_to: str | None = None) -> pt.PatternRule:
    return pt.make_rule(
        {
            "pattern_id": "P900",
            "pattern_name": "test",
            "rule_condition": condition,
            "applies_to": applies_to,
            "results_segment": "Market",
            "explanation": "why",
            "recommended_action": "what to do",
        }
    )


def test_revenue_decline_fires_only_when_the_whole_interval_is_below_zero():
    decline = next(r for r in pt.default_rules() if r.pattern_id == "P001")  # F2 < -10% and F2.hi < 0
    clear = pt.evaluate(decline, "region", {"F2": factor("F2", -0.20, -0.30, -0.05)}, None)
    straddles = pt.evaluate(decline, "region", {"F2": factor("F2", -0.20, -0.35, 0.02)}, None)
    small = pt.evaluate(decline, "region", {"F2": factor("F2", -0.05, -0.08, -0.01)}, None)
    assert (clear.fired, straddles.fired, small.fired) == (True, False, False)
    assert clear.evidence == {
        "F2": {"value": -0.20, "n": 500, "ci_low": -0.30, "ci_high": -0.05, "method": "bootstrap_bca", "status": "ok"}
    }


def test_comparisons_with_the_parent_use_both_intervals():
    pressure = next(r for r in pt.default_rules() if r.pattern_id == "P011")  # F9.lo > parent.F9.hi
    own = {"F9": factor("F9", 0.30, 0.25, 0.35)}
    assert pt.evaluate(pressure, "brand", own, {"F9": factor("F9", 0.15, 0.14, 0.16)}).fired
    assert not pt.evaluate(pressure, "brand", own, {"F9": factor("F9", 0.22, 0.20, 0.26)}).fired  # overlap
    on_all = pt.evaluate(pressure, "all", own, None)
    assert (on_all.fired, on_all.status) == (False, "not_applicable")  # all has no parent


def test_no_pattern_fires_on_a_factor_with_insufficient_data():
    """Every seeded rule, given factors that make it fire, stops firing when any one factor it uses has
    insufficient data (whatever the others say)."""
    rng = np.random.default_rng(1)
    checked = 0
    for r in pt.default_rules():
        refs = pt.refs_of(r.tree)
        key = r.applies_to[0] if r.applies_to else "region"
        fired = None
        for _ in range(3000):  # random factor values until the rule fires
            own = {}
            parent = {}
            for d in CATALOGUE:
                low, value, high = sorted(rng.uniform(-1.2, 1.2, 3))
                own[d.factor_id] = factor(d.factor_id, value, low, high)
                low, value, high = sorted(rng.uniform(-1.2, 1.2, 3))
                parent[d.factor_id] = factor(d.factor_id, value, low, high)
            if pt.evaluate(r, key, own, parent).fired:
                fired = (own, parent)
                break
        assert fired is not None, f"{r.pattern_id} never fired on random factors"
        own, parent = fired
        for ref in refs:
            side = dict(parent if ref.parent else own)
            side[ref.factor_id] = factor(ref.factor_id, None)
            result = pt.evaluate(r, key, side if not ref.parent else own, side if ref.parent else parent)
            assert (result.fired, result.status) == (False, "insufficient_data"), (r.pattern_id, ref)
            checked += 1
    assert checked >= 41


def test_the_condition_language_is_parsed_not_evaluated():
    assert rule("F2 < -10% and F2.hi < 0").tree == (
        "and",
        ("<", ("ref", pt.Ref("F2", False, "value")), ("neg", ("num", 0.10))),
        ("<", ("ref", pt.Ref("F2", False, "hi")), ("num", 0.0)),
    )
    r = rule("not (F11.lo > parent.F11.hi * 1.1) or F5.hi - F5.lo < 2 / 4")
    factors = {"F11": factor("F11", 10, 9, 11), "F5": factor("F5", 3, 2, 5)}
    parent = {"F11": factor("F11", 9, 8.5, 9.5)}
    assert pt.evaluate(r, "store", factors, parent).fired  # 9 > 10.45 is false, so "not" fires
    for bad, message in (
        ("__import__('os').system('id')", "cannot read"),
        ("F2 < 0 and F2.hi < 0; DROP TABLE x", "cannot read"),
        ("F99.hi < 0", "unknown factor F99"),
        ("F2 < 0", "interval bound"),
        ("F2.hi", "comparison"),
        ("(F2.hi < 0", "not closed"),
        ("F2.hi <", "ends too early"),
    ):
        with pytest.raises(InvalidInput, match=message):
            rule(bad)
    with pytest.raises(InvalidInput, match="unknown segment key"):
        rule("F2.hi < 0", applies_to="brand|planet")


def test_a_rule_applies_only_to_its_segment_keys():
    leader = next(r for r in pt.default_rules() if r.pattern_id == "P029")  # brands only
    f = {"F8": factor("F8", 0.6, 0.5, 0.7)}
    assert pt.evaluate(leader, "brand", f, {"F8": factor("F8", 1.0)}).fired
    assert pt.evaluate(leader, "region", f, {"F8": factor("F8", 1.0)}).status == "not_applicable"


def test_the_checksum_changes_with_any_rule_and_with_the_evaluator(monkeypatch):
    rules = pt.default_rules()
    base = pt.rules_checksum(rules)
    assert pt.rules_checksum(pt.default_rules()) == base
    assert pt.rules_checksum(rules[:-1]) != base
    changed = [rule("F2.hi < -50%") if r.pattern_id == "P001" else r for r in rules]
    assert pt.rules_checksum(changed) != base
    monkeypatch.setattr(pt, "EVALUATOR_VERSION", pt.EVALUATOR_VERSION + 1)
    assert pt.rules_checksum(rules) != base


def _stored_analysis(db, rules):
    factors = {d.factor_id: factor(d.factor_id, 0.0, -0.01, 0.01) for d in CATALOGUE}
    factors["F2"] = factor("F2", -0.08, -0.12, -0.03)  # falling, but by less than P001's 10 %
    factors["F9"] = factor("F9", None)
    parent = {d.factor_id: factor(d.factor_id, 0.0, -0.01, 0.01) for d in CATALOGUE}
    period = {"current_start": "2025-06-02", "current_end": "2025-06-29"}
    made = analysis.evaluate("region:NCR", "region", "all", period, factors, parent, rules)
    db.retry_transaction(lambda tx: analysis.save(tx, "s-1", "g-1", made, datetime(2025, 7, 1)))
    return made


def test_stored_matches_are_re_evaluated_when_the_rules_change(migrated):
    with connect(migrated) as db:
        made = _stored_analysis(db, pt.load_rules(db))
        assert not next(p for p in made.patterns if p.id == "P001").fired
        first = analysis.load(db, "s-1", "g-1")
        assert first.rules_checksum == made.rules_checksum
        assert [p.as_dict() for p in first.patterns] == [p.as_dict() for p in made.patterns]

        db.execute(
            "UPDATE results.pattern_rules SET rule_condition = ? WHERE pattern_id = ?",
            ("F2 < -5% and F2.hi < 0", "P001"),
        )
        again = analysis.load(db, "s-1", "g-1")
        assert again.rules_checksum != made.rules_checksum
        p001 = next(p for p in again.patterns if p.id == "P001")
        assert p001.fired and p001.evidence["F2"]["ci_high"] == -0.03
        stored = db.query("SELECT DISTINCT rules_checksum FROM results.pattern_matches WHERE session_id = 's-1'")
        assert stored == [(again.rules_checksum,)]  # written back: the next read does not re-evaluate

        db.execute("UPDATE results.pattern_rules SET is_active = 0 WHERE pattern_id = 'P001'")
        assert "P001" not in [p.id for p in analysis.load(db, "s-1", "g-1").patterns]


def test_a_stored_factor_with_insufficient_data_never_fires_a_re_evaluated_rule(migrated):
    with connect(migrated) as db:
        _stored_analysis(db, pt.load_rules(db))
        db.execute("UPDATE results.pattern_rules SET rule_condition = ? WHERE pattern_id = ?", ("F9.hi < 2", "P011"))
        p011 = next(p for p in analysis.load(db, "s-1", "g-1").patterns if p.id == "P011")
        assert (p011.fired, p011.status, p011.evidence["F9"]["value"]) == (False, "insufficient_data", None)


def test_any_text_is_either_a_valid_rule_or_a_clear_invalid_input():
    """Whatever an analyst types into rule_condition, loading it never runs it and never fails otherwise."""
    from hypothesis import given, settings, strategies as st

    alphabet = st.sampled_from(
        [
            "F2",
            "F9",
            ".lo",
            ".hi",
            "parent.",
            " ",
            "<",
            ">",
            "-",
            "10%",
            "0.5",
            "(",
            ")",
            "and",
            "or",
            "not",
            "*",
            "/",
            "x",
            "'",
            ";",
        ]
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(alphabet, max_size=12).map("".join))
    def check(text):
        try:
            r = rule(text)
        except InvalidInput:
            return
        result = pt.evaluate(r, "brand", {"F2": factor("F2", 0.1, 0.0, 0.2), "F9": factor("F9", None)}, None)
        assert result.status in ("fired", "not_fired", "insufficient_data", "not_applicable")

    check()
