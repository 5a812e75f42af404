"""Gold: daily figures per member of each dimension, per source, refreshed incrementally.

Sources: ``legacy`` (the migrated history, read from silver) and ``ingestion`` (current ingestion,
``dbo.Transactions`` / ``dbo.TransactionItems`` / ``dbo.Stores``, the rows the Monte Carlo model reads).
Dimensions: ``all``, ``store``, ``region``, ``brand``, ``category``; text members on their collation key
``UPPER(RTRIM(x))``, shown in the binary-smallest spelling (legacy brands and categories: the conformed one).

A refresh rebuilds whole days, each contiguous run of days in one transaction (delete, then insert), so a
reader never sees half a day. Which days:
- every day whose transaction count differs between the source and gold (new days, gaps — days before
  the watermark that gold lacks — late rows on any day, deleted rows);
- the lookback window: the days from ``lookback_days`` before the watermark's day onwards, for rows changed
  in place (the count alone would not show them);
- everything with ``full``.
The watermark (the newest source timestamp read, and the source's row count then) is written last.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import now_utc

SOURCES = ("legacy", "ingestion")
DIMENSIONS = ("all", "store", "region", "brand", "category")
DEFAULT_LOOKBACK_DAYS = 0  # the watermark's own day (it may have been filling at the last refresh)
MAX_LOOKBACK_DAYS = 366
BIN2 = "COLLATE Latin1_General_100_BIN2"

#: Per source: rows per day, the newest timestamp and row count, one row per basket, one row per item line.
DAY_COUNTS = {
    "legacy": "SELECT CAST(t.transaction_ts AS DATE), COUNT(*) FROM silver.transactions AS t "
    "GROUP BY CAST(t.transaction_ts AS DATE)",
    "ingestion": "SELECT CAST(t.txn_ts AS DATE), COUNT(*) FROM dbo.Transactions AS t "
    "JOIN dbo.Stores AS s ON s.store_id = t.store_id GROUP BY CAST(t.txn_ts AS DATE)",
}
#: The source table's rows, newest timestamp and stores: cheap to read (no join), and any insert, delete or
#: late row changes one of them.
SOURCE_EXTENT = {
    "legacy": "SELECT COUNT(*), MAX(t.transaction_ts), (SELECT COUNT(*) FROM silver.stores) FROM silver.transactions AS t",
    "ingestion": "SELECT COUNT(*), MAX(t.txn_ts), (SELECT COUNT(*) FROM dbo.Stores) FROM dbo.Transactions AS t",
}
#: Silver is insert-only (the backfill never changes a copied row): no lookback needed for the legacy source.
LOOKBACK_SOURCES = ("ingestion",)
BASKETS = {
    "legacy": "SELECT t.transaction_id AS tx, CAST(t.transaction_ts AS DATE) AS sales_date, t.store_id, s.store_name, "
    "s.region, i.peso_value AS basket_value, i.quantity AS basket_units FROM silver.transactions AS t "
    "JOIN silver.stores AS s ON s.store_id = t.store_id "
    "JOIN silver.transaction_items AS i ON i.transaction_id = t.transaction_id AND i.line_no = 1 "
    "WHERE t.transaction_ts >= ? AND t.transaction_ts < ?",
    "ingestion": "SELECT t.canonical_tx_id AS tx, CAST(t.txn_ts AS DATE) AS sales_date, t.store_id, s.store_name, "
    "s.region, t.total_amount AS basket_value, t.total_items AS basket_units FROM dbo.Transactions AS t "
    "JOIN dbo.Stores AS s ON s.store_id = t.store_id WHERE t.txn_ts >= ? AND t.txn_ts < ?",
}
LINES = {
    "legacy": "SELECT t.transaction_id AS tx, CAST(t.transaction_ts AS DATE) AS sales_date, p.brand_key, "
    "b.brand_name, p.category_key, c.category_name, i.peso_value AS line_value, i.quantity AS line_units, "
    "i.peso_value AS basket_value, i.quantity AS basket_units FROM silver.transactions AS t "
    "JOIN silver.transaction_items AS i ON i.transaction_id = t.transaction_id "
    "JOIN silver.products AS p ON p.product_id = i.product_id "
    "LEFT JOIN silver.brands AS b ON b.brand_key = p.brand_key "
    "LEFT JOIN silver.categories AS c ON c.category_key = p.category_key "
    "WHERE t.transaction_ts >= ? AND t.transaction_ts < ?",
    "ingestion": "SELECT t.canonical_tx_id AS tx, CAST(t.txn_ts AS DATE) AS sales_date, "
    "UPPER(RTRIM(i.brand)) AS brand_key, RTRIM(i.brand) AS brand_name, UPPER(RTRIM(i.category)) AS category_key, "
    "RTRIM(i.category) AS category_name, i.quantity * i.unit_price AS line_value, i.quantity AS line_units, "
    "t.total_amount AS basket_value, t.total_items AS basket_units FROM dbo.Transactions AS t "
    "JOIN dbo.Stores AS s ON s.store_id = t.store_id "
    "JOIN dbo.TransactionItems AS i ON i.canonical_tx_id = t.canonical_tx_id "
    "WHERE t.txn_ts >= ? AND t.txn_ts < ?",
}
_COLUMNS = (
    "sales_date, source_name, dimension, member_key, member_name, revenue, units, transactions, basket_value, "
    "basket_value_sq, basket_units, basket_units_sq, refreshed_at"
)
_BASKET_FIGURES = (
    "SUM(b.basket_value), SUM(b.basket_units), COUNT(*), SUM(b.basket_value), SUM(b.basket_value * b.basket_value), "
    "SUM(b.basket_units), SUM(CAST(b.basket_units AS BIGINT) * b.basket_units), ?"
)
#: dimension -> (member key, member name, filter, GROUP BY beyond the day) over one row per basket.
_BASKET_DIMENSIONS = {
    "all": ("N'ALL'", "N'all'", "", ""),
    "store": ("CAST(b.store_id AS NVARCHAR(20))", "MIN(b.store_name)", "", ", b.store_id"),
    "region": (
        "UPPER(RTRIM(b.region))",
        f"MIN(RTRIM(b.region) {BIN2})",
        " WHERE RTRIM(b.region) <> N''",
        ", UPPER(RTRIM(b.region))",
    ),
}


def basket_insert(source: str, dimension: str) -> str:
    """A dimension over one row per basket (parameters: refreshed_at, from, to)."""
    member_key, member_name, where, group = _BASKET_DIMENSIONS[dimension]
    return (
        f"INSERT INTO gold.daily_sales ({_COLUMNS}) SELECT b.sales_date, N'{source}', N'{dimension}', "
        f"{member_key}, {member_name}, {_BASKET_FIGURES} FROM ({BASKETS[source]}) AS b{where} "
        f"GROUP BY b.sales_date{group}"
    )


def _line_dimension(source: str, dimension: str) -> str:
    return (
        f"SELECT b.sales_date, N'{source}', N'{dimension}', b.member_key, MIN(b.member_name {BIN2}), SUM(b.line_value), "
        "SUM(b.line_units), COUNT(*), SUM(b.basket_value), SUM(b.basket_value * b.basket_value), SUM(b.basket_units), "
        "SUM(CAST(b.basket_units AS BIGINT) * b.basket_units), ? FROM ("
        f"SELECT l.tx, l.sales_date, l.{dimension}_key AS member_key, MIN(l.{dimension}_name {BIN2}) AS member_name, "
        "SUM(l.line_value) AS line_value, SUM(l.line_units) AS line_units, MIN(l.basket_value) AS basket_value, "
        f"MIN(l.basket_units) AS basket_units FROM l WHERE l.{dimension}_key <> N'' "
        f"GROUP BY l.tx, l.sales_date, l.{dimension}_key) AS b GROUP BY b.sales_date, b.member_key"
    )


def lines_insert(source: str) -> str:
    """Brands and categories in one statement: the item lines are read (and joined) once, for both
    (parameters: from, to, refreshed_at, refreshed_at)."""
    return (
        f"WITH l AS ({LINES[source]}) INSERT INTO gold.daily_sales ({_COLUMNS}) "
        f"{_line_dimension(source, 'brand')} UNION ALL {_line_dimension(source, 'category')}"
    )


BASKET_INSERTS = {source: [basket_insert(source, d) for d in _BASKET_DIMENSIONS] for source in SOURCES}
LINES_INSERTS = {source: lines_insert(source) for source in SOURCES}


def check_lookback(lookback_days: Any) -> int:
    if (
        isinstance(lookback_days, bool)
        or not isinstance(lookback_days, int)
        or not 0 <= lookback_days <= MAX_LOOKBACK_DAYS
    ):
        raise InvalidInput(f"--lookback-days must be a whole number from 0 to {MAX_LOOKBACK_DAYS}")
    return lookback_days


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def day_counts(db: Database, source: str) -> dict[dt.date, int]:
    return {_as_date(d): int(n) for d, n in db.query(DAY_COUNTS[source]) if d is not None}


def gold_day_counts(db: Database, source: str) -> dict[dt.date, int]:
    return {
        _as_date(d): int(n)
        for d, n in db.query(
            "SELECT sales_date, transactions FROM gold.daily_sales WHERE source_name = ? AND dimension = N'all'",
            (source,),
        )
    }


def watermark(db: Database, source: str) -> dict[str, Any] | None:
    rows = db.query_dicts(
        "SELECT source_name, watermark, source_rows, store_rows, refreshed_at, run_id, days_refreshed "
        "FROM gold.refresh_watermarks "
        "WHERE source_name = ?",
        (source,),
    )
    return rows[0] if rows else None


def stale_days(db: Database, source: str) -> dict[str, list[dt.date]]:
    """Days gold lacks or holds with other counts than the source (no writes)."""
    source_days, gold_days = day_counts(db, source), gold_day_counts(db, source)
    mark = watermark(db, source)
    last = _as_date(mark["watermark"]) if mark and mark["watermark"] is not None else None
    differing = sorted(d for d in set(source_days) | set(gold_days) if source_days.get(d) != gold_days.get(d))
    gaps = [d for d in differing if d not in gold_days and last is not None and d < last]
    return {"differing": differing, "gaps": gaps}


def contiguous(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as (first, last) runs of consecutive days."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _stamp(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def refresh_source(db: Database, source: str, *, lookback_days: int, full: bool, run_id: str | None) -> dict[str, Any]:
    source_days, gold_days = day_counts(db, source), gold_day_counts(db, source)
    mark = watermark(db, source)
    last = _as_date(mark["watermark"]) if mark and mark["watermark"] is not None else None
    every = set(source_days) | set(gold_days)
    differing = {d for d in every if source_days.get(d) != gold_days.get(d)}
    gaps = sorted(d for d in differing if d not in gold_days and last is not None and d < last)
    if full or last is None:
        days = every
    else:
        window = last - dt.timedelta(days=lookback_days if source in LOOKBACK_SOURCES else 0)
        days = differing | {d for d in every if d >= window}
    runs = contiguous(sorted(days))
    for first, final in runs:

        def rebuild(tx: Database, first: dt.date = first, final: dt.date = final) -> None:
            now = now_utc()
            tx.execute(
                "DELETE FROM gold.daily_sales WHERE source_name = ? AND sales_date >= ? AND sales_date <= ?",
                (source, first, final),
            )
            start, end = _stamp(first), _stamp(final + dt.timedelta(days=1))
            for statement in BASKET_INSERTS[source]:
                tx.execute(statement, (now, start, end))
            tx.execute(LINES_INSERTS[source], (start, end, now, now))

        db.retry_transaction(rebuild, what=f"the gold refresh of {source} {first}..{final}")
    rows, newest, stores = extent_of(db, source)

    def move_watermark(tx: Database) -> None:
        tx.execute("DELETE FROM gold.refresh_watermarks WHERE source_name = ?", (source,))
        tx.execute(
            "INSERT INTO gold.refresh_watermarks (source_name, watermark, source_rows, store_rows, refreshed_at, "
            "run_id, days_refreshed) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, newest, rows, stores, now_utc(), run_id, len(days)),
        )

    db.retry_transaction(move_watermark, what=f"the gold watermark of {source}")
    return {
        "days_refreshed": len(days),
        "gaps_filled": [d.isoformat() for d in gaps],
        "runs": len(runs),
        "watermark": newest,
        "source_rows": rows,
    }


def refresh(
    db: Database,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    full: bool = False,
    run_id: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Refresh both sources (see the module docstring)."""
    check_lookback(lookback_days)
    if not isinstance(full, bool):
        raise InvalidInput("full must be true or false")
    started = time.perf_counter()
    out: dict[str, Any] = {"full": full, "lookback_days": lookback_days, "sources": {}}
    for source in SOURCES:
        out["sources"][source] = refresh_source(db, source, lookback_days=lookback_days, full=full, run_id=run_id)
        progress(f"gold {source}: {out['sources'][source]['days_refreshed']} day(s) refreshed")
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def extent_of(db: Database, source: str) -> tuple[int, Any, int]:
    """(rows, newest timestamp, stores) of the source now."""
    row = db.query_one(SOURCE_EXTENT[source])
    return (int(row[0] or 0), row[1], int(row[2] or 0)) if row else (0, None, 0)


def covers_ingestion(db: Database) -> bool:
    """Whether gold holds the ingestion rows there are now: the same rows, newest timestamp and stores as at
    its last refresh (a store's region renamed in place is not seen: ``refresh --full`` after such an edit)."""
    mark = watermark(db, "ingestion")
    if not mark:
        return False
    rows, newest, stores = extent_of(db, "ingestion")
    return (rows, newest, stores) == (int(mark["source_rows"]), mark["watermark"], int(mark["store_rows"]))
