"""Factors F1–F10 against values computed by hand on a small fixture, including the period edges; what
insufficient data looks like; the catalogue as data, documentation and code agreeing.

The fixture's data ends on Sunday 2025-06-29, so with 28-day periods the current period is Monday
2025-06-02 00:00 .. Sunday 2025-06-29 23:59:59 and the previous one 2025-05-05 .. 2025-06-01. One
transaction on 2025-05-04 is before both (it only shows the data covers the previous period).

| store | region | current period | previous period |
|---|---|---|---|
| 1 | NCR | 20 × PHP 100, 2 items, one a day 06-02 (00:00:00) .. 06-21 (5 on weekends) | 15 × 100 on 05-05 .. 05-19, 1 × 100 on 06-01 23:59:59; 1 × 1,000 on 05-04 |
| 2 | NCR | 10 × PHP 50, 1 item on Sat 06-28, 10 on Sun 06-29 (the last at 23:59:59) | 16 × 50 on 05-10 .. 05-25 |
| 3 | CAR | 10 × PHP 200, 4 items on 06-10 .. 06-19 | 10 × 200 on 05-06 .. 05-15 |
| 4 | CAR | — | 5 × 80 on 05-07 .. 05-11 |
| 5, 6 | CAR | 5 × PHP 80, 1 item each, 06-05 / 06-06 .. | — |

Item lines: one per transaction, brand Alpha (store 1), Beta (the others), category Snacks.
Substitution records (v_insight_base) on the first 32 NCR transactions of the current period: 8 with an
event; 4 of those also have a '0' row and 2 others two '0' rows (no fan-out may count them twice).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scout.db import connect
from scout.results import factors as fx, patterns as pt

ROOT = Path(__file__).resolve().parents[1]
DAY = timedelta(days=1)


def _rows() -> tuple[list[tuple], list[tuple], list[tuple]]:
    transactions, lines, insight = [], [], []

    def sale(store: int, when: datetime, amount: float, items: int, brand: str) -> str:
        tx_id = f"T{len(transactions) + 1:04d}"
        transactions.append((tx_id, store, when, amount, items))
        lines.append((tx_id, 1, f"{brand} item", brand, "Snacks", items, amount / items))
        return tx_id

    ncr_current = []
    for i in range(20):
        hour = 0 if i == 0 else 10
        ncr_current.append(sale(1, datetime(2025, 6, 2, hour) + i * DAY, 100, 2, "Alpha"))
    for _ in range(10):
        ncr_current.append(sale(2, datetime(2025, 6, 28, 12), 50, 1, "Beta"))
    for i in range(10):
        when = datetime(2025, 6, 29, 23, 59, 59) if i == 9 else datetime(2025, 6, 29, 12)
        ncr_current.append(sale(2, when, 50, 1, "Beta"))
    for i in range(10):
        sale(3, datetime(2025, 6, 10, 10) + i * DAY, 200, 4, "Beta")
    for store in (5, 6):
        for i in range(5):
            sale(store, datetime(2025, 6, store, 10) + i * DAY, 80, 1, "Beta")
    for i in range(15):
        sale(1, datetime(2025, 5, 5, 10) + i * DAY, 100, 2, "Alpha")
    sale(1, datetime(2025, 6, 1, 23, 59, 59), 100, 2, "Alpha")
    sale(1, datetime(2025, 5, 4, 10), 1000, 2, "Alpha")
    for i in range(16):
        sale(2, datetime(2025, 5, 10, 10) + i * DAY, 50, 1, "Beta")
    for i in range(10):
        sale(3, datetime(2025, 5, 6, 10) + i * DAY, 200, 4, "Beta")
    for i in range(5):
        sale(4, datetime(2025, 5, 7, 10) + i * DAY, 80, 1, "Beta")

    for i, tx_id in enumerate(ncr_current[:32]):
        event = i < 8
        insight.append((tx_id, "1" if event else "0"))
        if i < 4 or i in (20, 21):
            insight.append((tx_id, "0"))
    return transactions, lines, insight


@pytest.fixture
def fixture_db(migrated):
    transactions, lines, insight = _rows()
    with connect(migrated) as db:
        db.executemany(
            "INSERT INTO dbo.Stores (store_id, store_name, region, city) VALUES (?, ?, ?, ?)",
            [(s, f"Store {s}", "NCR" if s <= 2 else "CAR", None) for s in range(1, 7)],
        )
        db.executemany(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES (?, ?, ?, ?, ?)",
            transactions,
        )
        db.executemany(
            "INSERT INTO dbo.TransactionItems (canonical_tx_id, line_no, product_name, brand, category, quantity, "
            "unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
            lines,
        )
        db.executemany("INSERT INTO dbo.v_insight_base (sessionId, substitution_event) VALUES (?, ?)", insight)
    return migrated


@pytest.fixture
def topic_data(fixture_db):
    with connect(fixture_db) as db:
        return fx.load_topic_data(db)


def test_the_periods_are_the_last_28_days_of_data_and_the_28_before(topic_data):
    assert topic_data.period(True) == (datetime(2025, 6, 2).date(), datetime(2025, 6, 29).date())
    assert topic_data.period(False) == (datetime(2025, 5, 5).date(), datetime(2025, 6, 1).date())
    assert topic_data.previous_covered  # the data starts on 05-04, before the previous period


def test_f1_to_f10_of_a_region_match_the_hand_computed_values(topic_data):
    got = fx.segment_factors(topic_data, "region", "ncr")  # compared as Azure SQL does: any case
    f = {k: v.value for k, v in got.factors.items()}
    assert got.topic == "region:ncr" and got.parent_topic == "all"
    # current period: store 1 20 × 100 (06-02 00:00 counts) + store 2 20 × 50 (06-29 23:59:59 counts)
    assert f["F1"] == pytest.approx(3000)
    assert f["F3"] == 40
    # previous: store 1 16 × 100 (06-01 23:59:59 counts, 05-04 does not) + store 2 16 × 50 = 2,400
    assert f["F2"] == pytest.approx(3000 / 2400 - 1)  # +25 %
    assert f["F4"] == pytest.approx(75)
    assert f["F5"] == pytest.approx((20 * 2 + 20 * 1) / 40)  # 1.5 items
    # parent (all) stores active now: 1, 2, 3, 5, 6 (4 sold only before); NCR's: 1, 2
    assert f["F6"] == pytest.approx(2 / 5)
    assert f["F7"] == pytest.approx(40 / 2 / (28 / 7))  # 5 transactions per store per week
    # all stores' revenue now: 3,000 + 10 × 200 + 10 × 80 = 5,800
    assert f["F8"] == pytest.approx(3000 / 5800)
    # 32 transactions with a substitution record, 8 with an event (extra '0' rows change nothing)
    assert f["F9"] == pytest.approx(8 / 32) and got.factors["F9"].n == 32
    # weekends: store 1 on 06-07, 06-08, 06-14, 06-15, 06-21; store 2 all 20 (Sat 06-28, Sun 06-29)
    assert f["F10"] == pytest.approx(25 / 40)


def test_the_whole_market_and_a_brand_within_its_category(topic_data):
    everything = fx.segment_factors(topic_data, "all", None)
    assert everything.factors["F1"].value == pytest.approx(5800)
    assert everything.factors["F3"].value == 60
    assert everything.factors["F2"].value == pytest.approx(5800 / (1600 + 800 + 2000 + 400) - 1)
    assert everything.parent_topic is None and everything.factors["F8"].value == 1.0

    alpha = fx.segment_factors(topic_data, "brand", "ALPHA ")  # trailing spaces ignored, as on Azure SQL
    assert alpha.parent_topic == "category:Snacks" and alpha.topic == "brand:Alpha"  # as spelt in the data
    assert (alpha.factors["F1"].status, alpha.factors["F1"].n) == ("insufficient_data", 20)  # 20 < 30 baskets
    assert alpha.factors["F8"].value == pytest.approx(2000 / 5800)  # of the category's revenue
    assert alpha.factors["F6"].value == pytest.approx(1 / 5)


def test_count_proportions_carry_the_wilson_interval(topic_data):
    f6 = fx.segment_factors(topic_data, "region", "NCR").factors["F6"]
    # Wilson for 2 of 5 at 95 %: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n), by hand
    z = 1.959964
    centre = (0.4 + z * z / 10) / (1 + z * z / 5)
    half = z / (1 + z * z / 5) * math.sqrt(0.4 * 0.6 / 5 + z * z / 100)
    assert (f6.method, f6.n) == ("wilson", 5)
    assert f6.ci_low == pytest.approx(centre - half, abs=1e-5) and f6.ci_high == pytest.approx(centre + half, abs=1e-5)
    assert f6.ci_low == pytest.approx(0.1176, abs=1e-4) and f6.ci_high == pytest.approx(0.7693, abs=1e-4)


def test_means_ratios_and_growth_carry_a_reproducible_bootstrap_interval_around_the_value(topic_data):
    first = fx.segment_factors(topic_data, "region", "NCR").factors
    again = fx.segment_factors(topic_data, "region", "NCR").factors
    for fid in ("F1", "F2", "F4", "F5", "F7", "F8"):
        f = first[fid]
        assert f.method == "bootstrap_bca" and f.status == "ok"
        assert f.ci_low <= f.value <= f.ci_high, fid
        assert (again[fid].ci_low, again[fid].ci_high) == (f.ci_low, f.ci_high)  # fixed seed
    assert first["F2"].ci_low < first["F2"].ci_high  # the two periods vary from day to day


def test_a_small_segment_is_insufficient_data_with_its_n_and_never_a_number(topic_data):
    store = fx.segment_factors(topic_data, "store", "5").factors
    for fid in ("F1", "F4", "F5", "F10"):
        f = store[fid]
        assert (f.status, f.n, f.value, f.ci_low, f.ci_high) == ("insufficient_data", 5, None, None, None)
        assert "below the minimum 30" in f.note


def test_a_store_that_stopped_selling_has_no_numbers_for_the_current_period_but_its_reach_and_churn(topic_data):
    gone = fx.segment_factors(topic_data, "store", "4").factors  # 5 sales, all in the previous period
    assert gone["F3"].status == "insufficient_data" and gone["F3"].n == 0 and gone["F1"].value is None
    assert (gone["F6"].value, gone["F6"].n) == (0.0, 5)  # none of the 5 active stores is store 4
    assert (gone["F21"].status, gone["F21"].n) == ("insufficient_data", 1)  # 1 store before: below 5
    assert (gone["F28"].status, gone["F28"].n) == ("insufficient_data", 4)  # 4 active stores before


def test_growth_is_insufficient_when_the_data_does_not_reach_back_over_the_previous_period(fixture_db):
    with connect(fixture_db) as db:
        short = fx.load_topic_data(db, days=40)  # the previous 40 days would start in April
    assert not short.previous_covered
    f2 = fx.segment_factors(short, "all", None).factors["F2"]
    assert f2.status == "insufficient_data" and "previous period" in f2.note


def test_a_noisy_value_is_shrunk_toward_its_parent_and_a_precise_one_hardly_moves(topic_data):
    from scout.results.intervals import shrink

    assert shrink(10.0, 0.0, 30.0, 4.0) == pytest.approx(4.0)  # deviation within its own noise: the parent's
    assert shrink(10.0, 9.9, 10.1, 4.0) == pytest.approx(10.0, abs=1e-3)  # far outside: its own
    assert 4.0 < shrink(10.0, 6.0, 14.0, 4.0) < 10.0
    ncr = fx.segment_factors(topic_data, "region", "NCR").factors
    parent = fx.segment_factors(topic_data, "all", None).factors
    f4 = ncr["F4"]
    assert min(f4.value, parent["F4"].value) <= f4.shrunk_value <= max(f4.value, parent["F4"].value)
    assert ncr["F8"].shrunk_value is None  # relative to the parent: the parent is no prior for it


def test_the_prior_spread_comes_from_the_siblings_when_there_are_enough():
    import numpy as np

    from scout.results.intervals import between_variance, shrink

    alike = between_variance(np.array([0.30, 0.31, 0.29, 0.30]), np.full(4, 0.02**2))
    apart = between_variance(np.array([0.10, 0.50, 0.30, 0.70]), np.full(4, 0.02**2))
    assert alike == 0.0 and apart == pytest.approx(np.var([0.1, 0.5, 0.3, 0.7], ddof=1) - 0.02**2, rel=1e-6)
    assert between_variance(np.array([0.1, 0.9]), np.full(2, 0.01)) is None  # two siblings say too little
    # stores that barely differ: a store's noisy 45 % is mostly noise, pulled to the parent's 30 %
    assert shrink(0.45, 0.25, 0.65, 0.30, tau2=alike) == pytest.approx(0.30)
    assert 0.30 < shrink(0.45, 0.25, 0.65, 0.30, tau2=apart) < 0.45


def test_the_catalogue_is_data_documentation_and_code_alike(migrated):
    with connect(migrated) as db:
        stored = db.query(
            "SELECT factor_id, factor_name, formula, ci_method, min_n, n_counts, results_segment "
            "FROM results.factor_definitions"
        )
        rules = db.query_dicts(
            "SELECT pattern_id, pattern_name, rule_condition, applies_to, results_segment, explanation, "
            "recommended_action FROM results.pattern_rules ORDER BY pattern_id"
        )
    assert sorted(stored, key=lambda r: int(r[0][1:])) == [
        (d.factor_id, d.name, d.formula, d.method, d.min_n, d.n_counts, d.results_segment) for d in fx.CATALOGUE
    ]
    assert [d.factor_id for d in fx.CATALOGUE] == [f"F{i}" for i in range(1, 29)]
    assert [pt.make_rule(r) for r in rules] == pt.default_rules()
    assert [r["pattern_id"] for r in rules] == [f"P{i:03d}" for i in range(1, 42)]
    page = (ROOT / "docs" / "factors.md").read_text()
    for d in fx.CATALOGUE:
        assert re.search(rf"^\| {d.factor_id} \| {re.escape(d.name)} \| {re.escape(d.formula)} \|", page, re.M), d
    for r in pt.default_rules():
        assert f"| {r.pattern_id} | {r.name} | `{r.condition}` |" in page, r.pattern_id


def scout(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scout", *args], capture_output=True, text=True, timeout=120)


def test_cli_prints_factors_and_patterns_as_json_lists(fixture_db):
    done = scout("results", "factors", "--segment", "region=NCR", "--json")
    assert done.returncode == 0, done.stderr
    factors = json.loads(done.stdout)
    assert [f["id"] for f in factors] == [f"F{i}" for i in range(1, 29)]
    assert set(factors[0]) == {"id", "name", "value", "n", "ci_low", "ci_high", "method", "status"}
    assert factors[2]["value"] == 40 and factors[2]["status"] == "ok"
    done = scout("results", "patterns", "--segment", "region=NCR", "--json")
    assert done.returncode == 0, done.stderr
    patterns = json.loads(done.stdout)
    assert len(patterns) == 41 and set(patterns[0]) == {"id", "name", "fired", "evidence", "explanation", "action"}
    growth = next(p for p in patterns if p["id"] == "P002")  # +25 % revenue: fires only if its interval clears 0
    assert growth["evidence"]["F2"]["value"] == pytest.approx(0.25)
    assert growth["fired"] == (growth["evidence"]["F2"]["ci_low"] > 0)


def test_cli_refuses_an_unknown_segment_with_one_line(fixture_db):
    done = scout("results", "factors", "--segment", "region=Atlantis")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "unknown region 'Atlantis'" in done.stderr
    done = scout("results", "patterns", "--segment", "colour=red")
    assert done.returncode != 0 and "unknown segment key 'colour'" in done.stderr
