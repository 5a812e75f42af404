"""The Monte Carlo model's history and levers: a lever scales the rate of transactions and keeps their
dispersion, and a segment's history is its own active span, not the whole data span."""

from datetime import datetime, timedelta

import numpy as np
import pytest

from scout.db import connect
from scout.montecarlo import model
from scout.montecarlo.scenario import active_span_counts, load_history, parse_scenario

FIXED_BASKET = (np.full(100, 1.0), np.full(100, 1.0))  # a basket worth 1 with 1 unit: revenue = count


def simulated_counts(fitted: model.Fitted, draws: int = 200_000) -> np.ndarray:
    """One day's transaction counts, drawn as the simulation draws them (revenue of a basket worth 1)."""
    revenue, _, _ = model.simulate_batch(fitted, 1, 42, model.chunks_of(draws))
    return revenue


def test_a_promotion_on_a_poisson_history_stays_poisson_with_the_raised_mean():
    history = np.array([90.0, 110.0] * 15)  # mean = variance = 100
    assert history.mean() == 100 and history.var() == 100

    fitted = model.fit(history, *FIXED_BASKET, stores=1, promo_uplift_pct=20)

    assert fitted.daily_mean == pytest.approx(120) and fitted.daily_var == pytest.approx(120)  # not 144
    assert not fitted.over_dispersed and fitted.as_dict()["distribution"] == "poisson"
    counts = simulated_counts(fitted)
    assert counts.mean() == pytest.approx(120, rel=0.01) and counts.var() == pytest.approx(120, rel=0.03)


def test_a_lever_on_a_negative_binomial_history_keeps_its_size():
    history = np.array([10.0, 30.0, 0.0, 40.0] * 10)  # mean 20, variance 250: size r = 20² / (250 − 20)
    size = 20**2 / (250 - 20)

    fitted = model.fit(history, *FIXED_BASKET, stores=2, store_change=2)  # twice the stores

    assert fitted.over_dispersed and fitted.daily_mean == pytest.approx(40)
    assert fitted.daily_var == pytest.approx(40 + 40**2 / size)  # μm + (μm)²/r, not 4 × 250
    assert fitted.daily_mean**2 / (fitted.daily_var - fitted.daily_mean) == pytest.approx(size)
    counts = simulated_counts(fitted)
    assert counts.var() == pytest.approx(fitted.daily_var, rel=0.03)


def test_without_levers_the_history_is_fitted_as_it_is():
    over = np.array([10.0, 50.0, 5.0, 80.0] * 8)
    fitted = model.fit(over, *FIXED_BASKET, stores=3)
    assert fitted.daily_mean == pytest.approx(over.mean()) and fitted.daily_var == pytest.approx(over.var())


def test_a_price_rise_lowers_the_rate_and_raises_the_basket_keeping_poisson():
    history = np.array([95.0, 105.0] * 20)  # variance 25 < mean: Poisson
    fitted = model.fit(
        history, np.array([50.0, 70.0]), np.array([2.0, 2.0]), stores=1, price_change_pct=10, elasticity=-1.5
    )
    rate = 100 * 1.1**-1.5
    assert fitted.daily_mean == pytest.approx(rate) and fitted.daily_var == pytest.approx(rate)
    assert fitted.basket_mean == pytest.approx(66.0) and fitted.basket_var == pytest.approx(100 * 1.21)


def test_closing_every_store_leaves_no_transactions():
    fitted = model.fit(np.array([10.0, 30.0, 0.0, 40.0]), *FIXED_BASKET, stores=4, store_change=-4)
    assert fitted.daily_mean == 0 and fitted.daily_var == 0
    assert simulated_counts(fitted, 1000).max() == 0


def test_the_active_span_runs_from_the_first_to_the_last_day_with_a_sale():
    day_index = np.array([30, 30, 31, 34, 34, 34])  # a segment that first sold on day 30 of the data
    assert active_span_counts(day_index).tolist() == [2, 1, 0, 0, 3]  # quiet days inside the span count


@pytest.fixture
def two_stores(migrated):
    """Store 1 sells 10 a day for 60 days; store 2 opens on day 30 and sells 10 a day from then on."""
    start = datetime(2024, 1, 1, 9, 0)
    rows = []
    for day in range(60):
        for store in (1, 2) if day >= 30 else (1,):
            rows += [
                (f"s{store}-d{day}-{n}", store, start + timedelta(days=day, minutes=n), 25.0, 2) for n in range(10)
            ]
    with connect(migrated) as db, db.transaction():
        db.executemany(
            "INSERT INTO dbo.Stores (store_id, store_name, region, city) VALUES (?, ?, ?, ?)",
            [(1, "Old Store", "NCR", "Manila"), (2, "New Store", "NCR", "Quezon City")],
        )
        db.executemany(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    return migrated


def test_a_store_that_opened_halfway_is_fitted_on_its_own_days(two_stores):
    with connect(two_stores) as db:
        counts, values, units, stores = load_history(db, parse_scenario({"segment": {"store": "2"}}))
        whole, _, _, _ = load_history(db, parse_scenario({}))

    assert len(counts) == 30 and stores == 1 and len(values) == len(units) == 300
    fitted = model.fit(counts, values, units, stores=stores)
    assert fitted.daily_mean == pytest.approx(10) and not fitted.over_dispersed  # not 5/day, not NB
    assert fitted.days_observed == 30
    assert len(whole) == 60 and whole[:30].tolist() == [10] * 30 and whole[30:].tolist() == [20] * 30
