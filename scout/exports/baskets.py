"""Basket summaries (``ref.transaction_baskets``): each transaction's primary item and other products,
computed once. The flat export then joins one row per transaction instead of ranking and aggregating
every item line on every run, which was most of an export's cost.

Incremental like persona inference: transactions without a summary are summarized; ``full`` does all
again (for item lines corrected after the fact). Work goes in Transaction_ID ranges, each committed,
so memory stays that of one range and an interrupted run resumes where it stopped.

Products are compared as Azure SQL's default collation compares them, on any engine (scout.db.collation):
``Lucky Me`` and ``lucky me `` are one product, listed once, with its binary-smallest spelling without
trailing spaces, and the list is in code-point order. The primary item's own values are shown, trailing
spaces removed (no text is compared to choose it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scout.db.base import Database
from scout.exports.ranges import conditions

# A transaction without a summary: the outer join finds none (the range is repeated on the summaries so
# that only that range of them is read; an outer join is several times faster here than NOT EXISTS).
UNSUMMARIZED = """
    SELECT t.canonical_tx_id FROM dbo.Transactions AS t
    LEFT JOIN ref.transaction_baskets AS b ON b.canonical_tx_id = t.canonical_tx_id AND {summary_range}
    WHERE {range} AND b.canonical_tx_id IS NULL"""

# The primary item is the line with the largest amount, ties to the lowest line_no (the definition of
# dbo.v_transactions_flat_production); the other products are the basket's other products, one entry
# per product key UPPER(RTRIM(name)) shown with its binary-smallest spelling, in code-point order.
SUMMARIZE = """
WITH pending AS ({unsummarized}
),
items AS (
    SELECT i.canonical_tx_id, i.line_no, i.product_name, UPPER(RTRIM(i.product_name)) AS product_key, i.category,
           i.brand, i.quantity * i.unit_price AS amount
    FROM dbo.TransactionItems AS i
    JOIN pending AS p ON p.canonical_tx_id = i.canonical_tx_id
),
ranked AS (
    SELECT canonical_tx_id, product_name, product_key, category, brand,
           ROW_NUMBER() OVER (PARTITION BY canonical_tx_id ORDER BY amount DESC, line_no) AS rn
    FROM items
),
primary_items AS (
    SELECT canonical_tx_id, RTRIM(product_name) AS product_name, product_key, RTRIM(category) AS category,
           RTRIM(brand) AS brand
    FROM ranked WHERE rn = 1
),
other_items AS (
    -- NVARCHAR(MAX): STRING_AGG of a shorter type stops at 8,000 bytes on SQL Server
    SELECT i.canonical_tx_id,
           CAST(MIN(RTRIM(i.product_name) COLLATE Latin1_General_100_BIN2) AS NVARCHAR(MAX)) AS product_name
    FROM items AS i
    JOIN primary_items AS p ON p.canonical_tx_id = i.canonical_tx_id
    WHERE i.product_key <> p.product_key
    GROUP BY i.canonical_tx_id, i.product_key
),
other_products AS (
    SELECT canonical_tx_id,
           STRING_AGG(product_name, '; ') WITHIN GROUP (ORDER BY product_name COLLATE Latin1_General_100_BIN2) AS products
    FROM other_items
    GROUP BY canonical_tx_id
)
INSERT INTO ref.transaction_baskets (canonical_tx_id, primary_product, category, brand, other_products, summarized_at)
SELECT p.canonical_tx_id, m.product_name, m.category, m.brand, o.products, SYSUTCDATETIME()
FROM pending AS p
LEFT JOIN primary_items AS m ON m.canonical_tx_id = p.canonical_tx_id
LEFT JOIN other_products AS o ON o.canonical_tx_id = p.canonical_tx_id
"""


def summarize(
    db: Database, points: list[Any], *, full: bool = False, progress: Callable[[str], None] = lambda _m: None
) -> int:
    """Summarize the baskets not yet summarized (all of them when ``full``), one range between
    ``points`` (scout.exports.ranges) at a time; returns how many."""
    if full:
        with db.transaction():
            db.execute("DELETE FROM ref.transaction_baskets")
    done = 0
    for (condition, params), (summary_condition, _) in zip(
        conditions("t.canonical_tx_id", points), conditions("b.canonical_tx_id", points)
    ):
        unsummarized = UNSUMMARIZED.format(summary_range=summary_condition, range=condition)
        with db.transaction():
            added = db.execute(SUMMARIZE.format(unsummarized=unsummarized), params + params)
        if added > 0:
            db.checkpoint()  # the new summaries leave memory: the next range has all of it
            done += added
            progress(f"summarized {done:,} baskets")
    return done
