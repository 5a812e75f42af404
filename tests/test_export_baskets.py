"""Basket summaries and range-by-range streaming: the flat export's speed must not change what it says."""

from datetime import datetime

import pytest

from scout.db import connect
from scout.exports import baskets, job as export_job, ranges
from scout.exports.baskets import summarize
from scout.exports.ranges import conditions, split_points


@pytest.fixture
def db(migrated):
    with connect(migrated) as database:
        yield database


@pytest.fixture
def demo(db):
    from scout.demo.seed import seed_demo
    from scout.personas.job import infer_in

    seed_demo(db, transactions=1_500, seed=11)
    infer_in(db)
    return db


def sheet_rows(db) -> set[tuple]:
    columns, chunks = db.stream("SELECT * FROM dbo.v_flat_export_sheet")
    return {tuple(row) for chunk in chunks for row in chunk}


def test_summaries_agree_with_the_production_view_on_primary_category_and_brand(demo):
    assert summarize(demo, split_points(demo)) == 1_500
    disagree = demo.query("""
        SELECT f.canonical_tx_id FROM dbo.v_transactions_flat_production AS f
        JOIN ref.transaction_baskets AS b ON b.canonical_tx_id = f.canonical_tx_id
        WHERE COALESCE(f.category, '') <> COALESCE(b.category, '') OR COALESCE(f.brand, '') <> COALESCE(b.brand, '')""")
    assert disagree == []


def test_a_tie_on_the_largest_amount_goes_to_the_lowest_line(db):
    db.execute("INSERT INTO dbo.Stores VALUES (1, 'Tindahan ni Aling Rosa', 'NCR', 'Manila')")
    db.execute("INSERT INTO dbo.Transactions VALUES ('T1', 1, ?, 40, 2)", (datetime(2025, 9, 8, 9, 0),))
    for line, (name, brand, category) in enumerate(
        [
            ("Coke Mismo", "Coke", "Soft Drinks"),
            ("Piattos Cheese", "Piattos", "Snacks"),
            ("Coke Mismo", "Coke", "Soft Drinks"),
        ],
        start=1,
    ):
        db.execute("INSERT INTO dbo.TransactionItems VALUES ('T1', ?, ?, ?, ?, 1, 20)", (line, name, brand, category))

    summarize(db, [])

    assert db.query("SELECT primary_product, category, other_products FROM ref.transaction_baskets") == [
        ("Coke Mismo", "Soft Drinks", "Piattos Cheese")
    ]  # line 1 wins the tie; a product is listed once
    assert db.query("SELECT category FROM dbo.v_transactions_flat_production") == [("Soft Drinks",)]


def test_only_new_transactions_are_summarized_and_full_redoes_all_after_a_correction(demo):
    points = split_points(demo)
    summarize(demo, points)
    tx = demo.query_one("SELECT MIN(canonical_tx_id) FROM dbo.Transactions")[0]
    demo.execute(
        "INSERT INTO dbo.Transactions SELECT 'ZZ-NEW', store_id, txn_ts, total_amount, total_items "
        "FROM dbo.Transactions WHERE canonical_tx_id = ?",
        (tx,),
    )
    demo.execute(
        "INSERT INTO dbo.TransactionItems SELECT 'ZZ-NEW', line_no, product_name, brand, category, quantity, "
        "unit_price FROM dbo.TransactionItems WHERE canonical_tx_id = ?",
        (tx,),
    )

    assert summarize(demo, points) == 1  # the new one only
    assert summarize(demo, points) == 0

    demo.execute(
        "UPDATE dbo.TransactionItems SET quantity = 1000 WHERE canonical_tx_id = ? AND line_no = "
        "(SELECT MAX(line_no) FROM dbo.TransactionItems WHERE canonical_tx_id = ?)",
        (tx, tx),
    )
    corrected = demo.query_one(
        "SELECT product_name FROM dbo.TransactionItems WHERE canonical_tx_id = ? AND quantity = 1000", (tx,)
    )[0]
    assert summarize(demo, points) == 0  # incremental: the correction is not seen
    assert summarize(demo, points, full=True) == 1_501
    assert (
        demo.query_one("SELECT primary_product FROM ref.transaction_baskets WHERE canonical_tx_id = ?", (tx,))[0]
        == corrected
    )


def test_range_by_range_export_equals_the_whole_view(migrated, demo, monkeypatch):
    monkeypatch.setattr(ranges, "RANGE_TRANSACTIONS", 97)  # 16 ranges over 1,500 transactions
    points = split_points(demo)
    assert 12 <= len(points) <= 18
    summarize(demo, points)
    whole = sheet_rows(demo)

    streamed = {tuple(r.values()) for batch in export_job.stream_export(demo, None, points) for r in batch.to_pylist()}
    result = export_job.export_in(demo, migrated, "run-ranges-0000")

    assert len(whole) == 1_500 and streamed == whole
    assert result["acceptance"][-1] == "PASSED" and result["baskets_summarized"] == 0


@pytest.mark.parametrize("points", [[], ["b"], ["b", "d"], ["a", "c", "e"]])
def test_the_ranges_cover_every_id_exactly_once(points):
    import duckdb

    ids = ["", "a", "a0", "b", "bb", "c", "d", "e", "z"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[i] for i in ids])
    hits = {i: 0 for i in ids}
    for condition, params in conditions("id", points):
        for (found,) in con.execute(f"SELECT id FROM t WHERE {condition}", list(params)).fetchall():
            hits[found] += 1
    assert set(hits.values()) == {1}


def test_the_first_export_summarizes_every_basket_then_only_new_ones(migrated, demo):
    first = export_job.export_in(demo, migrated, "run-first-00000")
    again = export_job.export_in(demo, migrated, "run-again-00000")
    assert (first["baskets_summarized"], again["baskets_summarized"]) == (1_500, 0)
    assert demo.query_one("SELECT COUNT(*) FROM ref.transaction_baskets")[0] == 1_500
    assert baskets.summarize(demo, [], full=True) == 1_500
