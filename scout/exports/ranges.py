"""Transaction_ID ranges: large work on the embedded database done one range at a time, so its memory is
that of one range, whatever the number of transactions (filters on the key reach every table scan)."""

from __future__ import annotations

from typing import Any

from scout.db.base import Database

RANGE_TRANSACTIONS = 125_000


def split_points(db: Database, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> list[Any]:
    """IDs that cut the transactions matching ``where`` (over ``dbo.Transactions AS t``) into ranges
    of about RANGE_TRANSACTIONS each; none when they fit in one."""
    rows = db.query("SELECT canonical_tx_id FROM (SELECT t.canonical_tx_id, ROW_NUMBER() OVER "
                    f"(ORDER BY t.canonical_tx_id) AS rn FROM dbo.Transactions AS t WHERE {where}) AS k "
                    "WHERE rn % ? = 1 ORDER BY canonical_tx_id", (*params, RANGE_TRANSACTIONS))
    return [row[0] for row in rows][1:]


def conditions(column: str, points: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """One condition per range, with its parameters; together they cover every non-NULL ``column``."""
    if not points:
        return [("1 = 1", ())]
    first = [(f"{column} < ?", (points[0],))]
    middle = [(f"{column} >= ? AND {column} < ?", (low, high)) for low, high in zip(points, points[1:])]
    return first + middle + [(f"{column} >= ?", (points[-1],))]
