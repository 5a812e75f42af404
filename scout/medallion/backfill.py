"""Backfill: legacy rows copied into silver in keyset batches, each batch committed with its checkpoint.

- Keyset batches: the next ``batch_size`` legacy ids after the checkpoint (``id > last_id``), never
  OFFSET, so a batch costs the same at the end as at the start. The default stays below SQL Server's
  lock escalation (5,000 locks taken by one statement on one table escalate to a table lock, which would
  block legacy readers and writers for the length of the statement).
- Each batch (its rows, its orphans, its checkpoint) is one transaction: a run killed at any moment leaves
  whole batches only, and the next run starts after the last committed one. Every insert also skips rows
  already there, so even a batch replayed over copied rows adds nothing twice.
- Orphans (a transaction whose store or product does not exist, or is NULL) go to ``silver.orphans`` with
  every legacy column and the reason, never dropped and never guessed.
- Brands and categories are conformed before the products: one row per ``UPPER(RTRIM(text))`` key,
  shown in its most frequent spelling (ties: the binary-smallest); each product keeps its original text.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scout.db.base import Database
from scout.db.collation import key as text_key
from scout.errors import InvalidInput
from scout.jobs.runs import now_utc
from scout.medallion.store import switch

#: Below SQL Server's lock escalation threshold (5,000 locks per statement and table).
DEFAULT_BATCH_SIZE = 4000
MAX_BATCH_SIZE = 4999
ENTITIES = ("stores", "brands", "categories", "products", "transactions")

Step = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Keyset:
    """A legacy table copied in keyset batches: the inserts of one id range (``id > ? AND id <= ?``; the first
    insert, and the orphans', take the copy time first)."""

    entity: str
    source: str
    copy: tuple[str, ...]
    orphans: str | None = None


_STORES = Keyset(
    "stores",
    "legacy.geography",
    (
        "INSERT INTO silver.stores (store_id, store_name, region, city, barangay, copied_at) "
        "SELECT g.id, g.store_name, g.region, g.city, g.barangay, ? FROM legacy.geography AS g "
        "WHERE g.id > ? AND g.id <= ? AND NOT EXISTS (SELECT 1 FROM silver.stores AS s WHERE s.store_id = g.id)",
    ),
)
_PRODUCTS = Keyset(
    "products",
    "legacy.organization",
    (
        "INSERT INTO silver.products (product_id, product_name, brand, category, unit_price, brand_key, "
        "category_key, copied_at) "
        "SELECT o.id, o.product_name, o.brand, o.category, o.unit_price, "
        "CASE WHEN RTRIM(o.brand) = N'' THEN NULL ELSE UPPER(RTRIM(o.brand)) END, "
        "CASE WHEN RTRIM(o.category) = N'' THEN NULL ELSE UPPER(RTRIM(o.category)) END, ? "
        "FROM legacy.organization AS o WHERE o.id > ? AND o.id <= ? "
        "AND NOT EXISTS (SELECT 1 FROM silver.products AS p WHERE p.product_id = o.id)",
    ),
)
_PLACED = (
    "EXISTS (SELECT 1 FROM silver.stores AS s WHERE s.store_id = t.geography_id) "
    "AND EXISTS (SELECT 1 FROM silver.products AS p WHERE p.product_id = t.organization_id)"
)
_TRANSACTIONS = Keyset(
    "transactions",
    "legacy.transactions",
    (
        "INSERT INTO silver.transactions (transaction_id, store_id, transaction_ts, copied_at) "
        "SELECT t.id, t.geography_id, t.transaction_ts, ? FROM legacy.transactions AS t "
        f"WHERE t.id > ? AND t.id <= ? AND {_PLACED} "
        "AND NOT EXISTS (SELECT 1 FROM silver.transactions AS x WHERE x.transaction_id = t.id)",
        "INSERT INTO silver.transaction_items (transaction_id, line_no, product_id, quantity, peso_value) "
        "SELECT t.id, 1, t.organization_id, t.quantity, t.peso_value FROM legacy.transactions AS t "
        f"WHERE t.id > ? AND t.id <= ? AND {_PLACED} "
        "AND NOT EXISTS (SELECT 1 FROM silver.transaction_items AS x WHERE x.transaction_id = t.id)",
    ),
    orphans=(
        "INSERT INTO silver.orphans (source_table, source_id, reason, geography_id, organization_id, "
        "transaction_ts, quantity, peso_value, found_at) "
        "SELECT N'transactions', t.id, RTRIM(CONCAT("
        "CASE WHEN t.geography_id IS NULL THEN N'store_id_null ' "
        "WHEN s.store_id IS NULL THEN N'store_not_found ' ELSE N'' END, "
        "CASE WHEN t.organization_id IS NULL THEN N'product_id_null' "
        "WHEN p.product_id IS NULL THEN N'product_not_found' ELSE N'' END)), "
        "t.geography_id, t.organization_id, t.transaction_ts, t.quantity, t.peso_value, ? "
        "FROM legacy.transactions AS t "
        "LEFT JOIN silver.stores AS s ON s.store_id = t.geography_id "
        "LEFT JOIN silver.products AS p ON p.product_id = t.organization_id "
        "WHERE t.id > ? AND t.id <= ? AND (s.store_id IS NULL OR p.product_id IS NULL) "
        "AND NOT EXISTS (SELECT 1 FROM silver.orphans AS o WHERE o.source_table = N'transactions' "
        "AND o.source_id = t.id)"
    ),
)
KEYSETS = {k.entity: k for k in (_STORES, _PRODUCTS, _TRANSACTIONS)}

_CHECKPOINT_MISSING = (
    "INSERT INTO ops.medallion_checkpoints (entity, last_id, copied, orphans, batches, updated_at) "
    "SELECT ?, 0, 0, 0, 0, ? WHERE NOT EXISTS (SELECT 1 FROM ops.medallion_checkpoints WHERE entity = ?)"
)
_CHECKPOINT_READ = "SELECT last_id FROM ops.medallion_checkpoints WHERE entity = ?"
_CHECKPOINT_MOVE = (
    "UPDATE ops.medallion_checkpoints SET last_id = ?, copied = copied + ?, orphans = orphans + ?, "
    "batches = batches + 1, updated_at = ? WHERE entity = ?"
)
_CHECKPOINT_DONE = "UPDATE ops.medallion_checkpoints SET completed_at = ?, updated_at = ? WHERE entity = ?"


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidInput(
            f"--batch-size must be a whole number from 1 to {MAX_BATCH_SIZE:,} "
            "(below SQL Server's 5,000-lock escalation)"
        )
    return batch_size


def _count(db: Database, sql: str, params: tuple[Any, ...] = ()) -> int:
    row = db.query_one(sql, params)
    return int(row[0]) if row and row[0] is not None else 0


def _affected(count: int) -> int:
    return max(count, 0)


def copy_keyset(
    db: Database, keyset: Keyset, batch_size: int, *, step: Step, stop_after: int | None = None
) -> dict[str, int]:
    """Copy ``keyset`` from its checkpoint on, one committed batch at a time; returns what this run did."""
    with db.transaction():
        db.execute(_CHECKPOINT_MISSING, (keyset.entity, now_utc(), keyset.entity))
    last_id = _count(db, _CHECKPOINT_READ, (keyset.entity,))
    remaining = _count(db, f"SELECT COUNT(*) FROM {keyset.source} WHERE id > ?", (last_id,))
    total = max(math.ceil(remaining / batch_size), 1)
    # TOP takes the validated whole number itself: a TOP (?) parameter would come after the id's in DuckDB's LIMIT
    boundary = (
        f"SELECT MAX(b.id) FROM (SELECT TOP ({batch_size}) id FROM {keyset.source} WHERE id > ? ORDER BY id) AS b"
    )
    done = {"batches": 0, "copied": 0, "orphans": 0}
    while stop_after is None or done["batches"] < stop_after:

        def one_batch(tx: Database) -> tuple[int, int, int] | None:
            start = _count(tx, _CHECKPOINT_READ, (keyset.entity,))  # again, inside the batch's transaction
            row = tx.query_one(boundary, (start,))
            if not row or row[0] is None:
                return None
            end, now = int(row[0]), now_utc()
            copied = _affected(tx.execute(keyset.copy[0], (now, start, end)))
            for statement in keyset.copy[1:]:  # item lines: no copy time of their own
                tx.execute(statement, (start, end))
            orphans = _affected(tx.execute(keyset.orphans, (now, start, end))) if keyset.orphans else 0
            tx.execute(_CHECKPOINT_MOVE, (end, copied, orphans, now, keyset.entity))
            return end, copied, orphans

        moved = db.retry_transaction(one_batch, what=f"a backfill batch of {keyset.entity}")
        if moved is None:
            with db.transaction():
                now = now_utc()
                db.execute(_CHECKPOINT_DONE, (now, now, keyset.entity))
            break
        done["batches"] += 1
        done["copied"] += moved[1]
        done["orphans"] += moved[2]
        step(min(done["batches"], total), total, f"{keyset.entity} batches")
    return done


def conform(db: Database, field: str) -> dict[str, int]:
    """Brands (or categories) of the legacy products, one row per collation key, most frequent spelling
    shown (ties: the binary-smallest). Keys already in silver stay as they are (a rerun adds nothing)."""
    table, key_column, name_column = (
        ("silver.brands", "brand_key", "brand_name")
        if field == "brand"
        else ("silver.categories", "category_key", "category_name")
    )
    spellings: dict[str, Counter[str]] = {}
    raw: dict[str, set[str]] = {}
    for (value,) in db.query(f"SELECT {field} FROM legacy.organization WHERE {field} IS NOT NULL"):
        k = text_key(str(value))
        if not k:
            continue
        spellings.setdefault(k, Counter())[str(value).rstrip(" ")] += 1
        raw.setdefault(k, set()).add(str(value))
    rows = []
    for k, counts in spellings.items():
        best = max(counts.values())
        shown = min(s for s, n in counts.items() if n == best)  # code-point order = _BIN2
        rows.append((k, shown, len(raw[k]), sum(counts.values())))
    added = 0
    with db.transaction():
        for k, shown, variants, products in sorted(rows):
            added += _affected(
                db.execute(
                    f"INSERT INTO {table} ({key_column}, {name_column}, spellings, products) "
                    f"SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {key_column} = ?)",
                    (k, shown, variants, products, k),
                )
            )
        now = now_utc()
        entity = "brands" if field == "brand" else "categories"
        db.execute(_CHECKPOINT_MISSING, (entity, now, entity))
        db.execute(_CHECKPOINT_MOVE, (0, added, 0, now, entity))
        db.execute(_CHECKPOINT_DONE, (now, now, entity))
    return {"keys": len(rows), "added": added, "spellings": sum(len(v) for v in raw.values())}


def backfill(
    db: Database,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str], None] = lambda _m: None,
    step: Step | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Stores, brands, categories, products, then transactions; resumable, idempotent. ``stop_after``
    (tests, benchmarks): at most that many transaction batches in this run."""
    check_batch_size(batch_size)
    if switch(db, "contracted"):
        raise InvalidInput("the legacy tables are contracted (views over silver): nothing left to backfill")
    started = time.perf_counter()

    def told(done: int, total: int, unit: str) -> None:
        if step is not None:
            step(done, total, unit)
        else:
            progress(f"{done}/{total} {unit}")

    result: dict[str, Any] = {"batch_size": batch_size}
    result["stores"] = copy_keyset(db, KEYSETS["stores"], batch_size, step=told)
    result["brands"] = conform(db, "brand")
    result["categories"] = conform(db, "category")
    result["products"] = copy_keyset(db, KEYSETS["products"], batch_size, step=told)
    result["transactions"] = copy_keyset(db, KEYSETS["transactions"], batch_size, step=told, stop_after=stop_after)
    seconds = time.perf_counter() - started
    copied = result["transactions"]["copied"] + result["transactions"]["orphans"]
    result["seconds"] = round(seconds, 3)
    result["rows_per_second"] = round(copied / seconds) if seconds > 0 else 0
    result["checkpoints"] = checkpoints(db)
    return result


def checkpoints(db: Database) -> dict[str, dict[str, Any]]:
    return {
        row["entity"]: row
        for row in db.query_dicts(
            "SELECT entity, last_id, copied, orphans, batches, updated_at, completed_at FROM ops.medallion_checkpoints"
        )
    }
