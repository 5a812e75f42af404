"""Transaction_ID ranges: large work done one range at a time, so that its memory is that of one range,
whatever the number of transactions (a filter on the key reaches every table scan of the view)."""

from __future__ import annotations

from typing import Any

from scout.db.base import Database

RANGE_TRANSACTIONS = 250_000


def split_points(db: Database) -> list[Any]:
    """IDs that cut dbo.Transactions into ranges of about RANGE_TRANSACTIONS each; none when one range
    holds them all.

    DuckDB samples every Nth stored row and sorts the sample: one scan of the key column, where ranking
    every ID would sort them all in memory. The ranges are balanced whatever the storage order, since
    the rows sampled are spread evenly over the table.
    """
    if db.dialect == "duckdb":
        sample = sorted(
            row[0]
            for row in db.query(
                "SELECT canonical_tx_id FROM dbo.Transactions WHERE rowid % ? = 0", (RANGE_TRANSACTIONS,)
            )
        )
    else:
        sample = [
            row[0]
            for row in db.query(
                "SELECT canonical_tx_id FROM (SELECT canonical_tx_id, ROW_NUMBER() OVER (ORDER BY canonical_tx_id) "
                "AS rn FROM dbo.Transactions) AS k WHERE rn % ? = 1 ORDER BY canonical_tx_id",
                (RANGE_TRANSACTIONS,),
            )
        ]
    return sample[1:]


def conditions(column: str, points: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """One condition per range, with its parameters; together they cover every non-NULL ``column``."""
    if not points:
        return [("1 = 1", ())]
    first = [(f"{column} < ?", (points[0],))]
    middle = [(f"{column} >= ? AND {column} < ?", (low, high)) for low, high in zip(points, points[1:])]
    return first + middle + [(f"{column} >= ?", (points[-1],))]
