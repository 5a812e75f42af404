"""Gold: daily aggregates per store, region, brand and category from both sources (the migrated legacy history
in silver, current ingestion in dbo.*), refreshed incrementally (new days, gaps, late rows, a lookback
window), and the Monte Carlo segment history read from gold with the same numbers as from raw rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scout.config import Settings
from scout.db import connect
from scout.demo import job as demo, legacy
from scout.medallion import job
from scout.montecarlo import model
from scout.montecarlo.scenario import (
    fit_history,
    history_from_gold,
    history_from_raw,
    load_history,
    parse_scenario,
    segment_history,
)


@pytest.fixture
def both_sources(migrated: Settings) -> Settings:
    demo.seed(trigger="cli", transactions=3000, seed=5, settings=migrated)
    legacy.seed_job(trigger="cli", transactions=5000, seed=5, settings=migrated)
    job.backfill(trigger="cli", settings=migrated)
    return migrated


def gold_frame(settings: Settings, source: str, dimension: str) -> pd.DataFrame:
    with connect(settings) as db:
        rows = db.query_dicts(
            "SELECT sales_date, member_key, member_name, revenue, units, transactions FROM gold.daily_sales "
            "WHERE source_name = ? AND dimension = ?",
            (source, dimension),
        )
    frame = pd.DataFrame(rows)
    frame["revenue"] = frame["revenue"].astype(float)
    return frame.set_index(["sales_date", "member_key"]).sort_index()


def gold_table(settings: Settings) -> list[tuple]:
    with connect(settings) as db:
        return db.query(
            "SELECT sales_date, source_name, dimension, member_key, member_name, revenue, units, transactions, "
            "basket_value, basket_value_sq, basket_units, basket_units_sq FROM gold.daily_sales ORDER BY 1, 2, 3, 4"
        )


def test_gold_figures_equal_a_recompute_from_the_raw_rows(both_sources) -> None:
    job.refresh(trigger="cli", settings=both_sources)
    with connect(both_sources) as db:
        lines = pd.DataFrame(
            db.query_dicts(
                "SELECT t.canonical_tx_id AS tx, CAST(t.txn_ts AS DATE) AS sales_date, s.region, i.brand, "
                "CAST(i.quantity * i.unit_price AS DOUBLE) AS line_value, i.quantity "
                "FROM dbo.Transactions t JOIN dbo.Stores s ON s.store_id = t.store_id "
                "JOIN dbo.TransactionItems i ON i.canonical_tx_id = t.canonical_tx_id"
            )
        )
        legacy_days = dict(
            db.query("SELECT CAST(transaction_ts AS DATE), COUNT(*) FROM silver.transactions GROUP BY 1")
        )
    lines["brand_key"] = lines["brand"].str.rstrip(" ").str.upper()
    by_brand = lines.groupby(["sales_date", "brand_key"]).agg(
        revenue=("line_value", "sum"), units=("quantity", "sum"), transactions=("tx", "nunique")
    )
    gold = gold_frame(both_sources, "ingestion", "brand")
    assert list(gold.index) == list(by_brand.index)
    assert (
        np.allclose(gold["revenue"], by_brand["revenue"]) and (gold["units"].values == by_brand["units"].values).all()
    )
    assert (gold["transactions"].values == by_brand["transactions"].values).all()

    baskets = lines.drop_duplicates("tx")
    by_region = baskets.groupby(["sales_date", baskets["region"].str.rstrip(" ").str.upper()]).size()
    assert gold_frame(both_sources, "ingestion", "region")["transactions"].to_dict() == by_region.to_dict()

    legacy_all = gold_frame(both_sources, "legacy", "all")["transactions"]
    assert {d: n for (d, _), n in legacy_all.items()} == legacy_days
    brands = gold_frame(both_sources, "legacy", "brand")
    assert set(brands.loc[brands.index.get_level_values(1) == "COCA-COLA", "member_name"]) == {"Coca-Cola"}


def test_an_incremental_refresh_fills_gaps_late_rows_and_new_days_as_a_full_one_would(both_sources) -> None:
    first = job.refresh(trigger="cli", settings=both_sources)
    assert first["sources"]["ingestion"]["days_refreshed"] == 30
    again = job.refresh(trigger="cli", settings=both_sources)
    assert again["sources"]["ingestion"]["days_refreshed"] == 1  # the watermark's day (lookback 0)
    wider = job.refresh(trigger="cli", lookback_days=2, settings=both_sources)
    assert wider["sources"]["ingestion"]["days_refreshed"] == 3 and wider["sources"]["legacy"]["days_refreshed"] == 1

    gap, late_day = dt.date(2025, 9, 10), dt.date(2025, 9, 3)
    with connect(both_sources) as db:
        db.execute("DELETE FROM gold.daily_sales WHERE source_name = 'ingestion' AND sales_date = ?", (gap,))
        db.execute(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES ('LATE-1', 1, ?, 48.00, 3)",
            (dt.datetime(2025, 9, 3, 10, 0),),
        )
        db.execute(
            "INSERT INTO dbo.TransactionItems (canonical_tx_id, line_no, product_name, brand, category, quantity, "
            "unit_price) VALUES ('LATE-1', 1, 'Piattos Cheese', 'piattos ', 'Snacks', 3, 16.00)"
        )
        db.execute(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES ('NEW-1', 2, ?, 20.00, 1)",
            (dt.datetime(2025, 10, 1, 8, 0),),
        )
    health = job.health(settings=both_sources)["layers"]["gold"]["sources"]["ingestion"]
    assert health["gaps"] == [gap.isoformat()] and health["stale_days"] == 3

    result = job.refresh(trigger="cli", settings=both_sources)["sources"]["ingestion"]
    assert result["gaps_filled"] == [gap.isoformat()]
    assert result["days_refreshed"] == 4  # the gap, the late row's day, the watermark's day, the new day
    incremental = gold_table(both_sources)
    job.refresh(trigger="cli", full=True, settings=both_sources)
    assert gold_table(both_sources) == incremental
    piattos = gold_frame(both_sources, "ingestion", "brand").loc[(late_day, "PIATTOS")]
    assert piattos["member_name"] == "Piattos"  # binary-smallest of "Piattos" and "piattos"
    assert job.health(settings=both_sources)["layers"]["gold"]["sources"]["ingestion"]["stale_days"] == 0


SEGMENTS = [{}, {"region": "ncr "}, {"store": "7"}, {"brand": "LUCKY ME"}, {"category": "snacks"}]


@pytest.mark.parametrize("segment", SEGMENTS, ids=lambda s: "-".join(s) or "all")
def test_monte_carlo_history_from_gold_has_the_same_numbers_as_from_raw_rows(both_sources, segment) -> None:
    job.refresh(trigger="cli", settings=both_sources)
    scenario = parse_scenario({"segment": segment, "price_change_pct": 5, "store_change": 2})
    with connect(both_sources) as db:
        gold = history_from_gold(db, scenario)
        raw = history_from_raw(db, scenario)
        counts, values, units, stores = load_history(db, scenario)
    assert gold is not None and gold.source == "gold" and raw.source == "raw"
    assert np.array_equal(gold.daily_counts, raw.daily_counts) and gold.transactions == raw.transactions
    assert gold.stores == raw.stores
    for moment in ("basket_mean", "basket_var", "units_mean", "units_var"):
        assert getattr(gold, moment) == pytest.approx(getattr(raw, moment), rel=1e-12)
    from_arrays = model.fit(
        counts, values, units, stores=stores, price_change_pct=5, elasticity=scenario.elasticity, store_change=2
    )
    for fitted in (fit_history(gold, scenario), fit_history(raw, scenario)):
        for name, value in from_arrays.__dict__.items():
            assert getattr(fitted, name) == pytest.approx(value, rel=1e-12), name


def test_monte_carlo_reads_raw_rows_when_gold_does_not_cover_them(both_sources) -> None:
    with connect(both_sources) as db:
        assert history_from_gold(db, parse_scenario({})) is None  # never refreshed
    job.refresh(trigger="cli", settings=both_sources)
    with connect(both_sources) as db:
        assert segment_history(db, parse_scenario({})).source == "gold"
        assert history_from_gold(db, parse_scenario({"segment": {"region": "NCR", "store": "1"}})) is None
        db.execute(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES ('NEW-2', 2, ?, 20.00, 1)",
            (dt.datetime(2025, 9, 30, 23, 59, 59),),
        )
        assert history_from_gold(db, parse_scenario({})) is None  # a row gold has not seen yet
        assert segment_history(db, parse_scenario({})).transactions == 3001
