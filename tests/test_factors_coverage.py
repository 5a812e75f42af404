"""Nominal 95 % intervals cover the true value 93–97 % of the time, checked by simulation over synthetic
draws with a known truth: the Wilson interval of a count proportion (F10, weekend share) and the BCa
bootstrap of a mean factor (F5, basket size: items per transaction over store-day units)."""

from __future__ import annotations

import numpy as np

from scout.results import intervals as iv

DRAWS = 2000


def test_wilson_interval_of_a_proportion_covers_the_true_share_95_percent_of_the_time():
    rng = np.random.default_rng(12)
    true_share, baskets = 0.35, 120  # weekend share of a store's 120 baskets
    weekend = rng.binomial(baskets, true_share, size=DRAWS * 2)
    low, high = iv.wilson(weekend, baskets)
    coverage = np.mean((low <= true_share) & (true_share <= high))
    assert 0.93 <= coverage <= 0.97, coverage


def basket_size_units(rng: np.random.Generator, store_days: int) -> dict[str, np.ndarray]:
    """Store-days with 1 + Poisson(2) baskets each, 1 + Poisson(2.5) items per basket: true mean 3.5."""
    baskets = 1 + rng.poisson(2.0, store_days)
    items = np.array([int((1 + rng.poisson(2.5, k)).sum()) for k in baskets], dtype=float)
    return {"tx": baskets.astype(float), "items": items}


def basket_size(current: iv.Totals, _previous: iv.Totals | None) -> np.ndarray:
    return current["items"] / current["tx"]  # F5's statistic (scout.results.factors)


def test_bca_bootstrap_of_basket_size_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    true_mean, covered = 3.5, 0
    for _ in range(DRAWS):
        sample = iv.make_sample(basket_size_units(rng, store_days=40), rng, resamples=1000)
        _value, low, high = iv.bca(basket_size, sample)
        covered += low <= true_mean <= high
    coverage = covered / DRAWS
    assert 0.93 <= coverage <= 0.97, coverage


def test_bca_of_a_skewed_ratio_moves_the_interval_toward_the_long_tail():
    """With a long right tail (a few big baskets), BCa's interval reaches further above the value than
    below: the correction a plain normal interval would miss."""
    rng = np.random.default_rng(3)
    units = {"tx": np.ones(60), "items": rng.lognormal(1.0, 1.0, 60)}
    value, low, high = iv.bca(basket_size, iv.make_sample(units, rng))
    assert high - value > value - low > 0


def test_a_comparison_resamples_each_period_on_its_own():
    rng = np.random.default_rng(8)
    current = iv.make_sample({"rev": rng.gamma(4.0, 30.0, 28)}, rng)
    previous = iv.make_sample({"rev": rng.gamma(4.0, 25.0, 28)}, rng)
    value, low, high = iv.bca(lambda c, p: c["rev"] / p["rev"] - 1, current, previous)
    assert value == current.columns["rev"].sum() / previous.columns["rev"].sum() - 1
    assert low < value < high
