"""Verify: every legacy row is accounted for in silver (copied, or kept aside with its reason), and every
copied column is equal, key by key.

Checks (each ``{"name", "passed", ...}``):
- ``counts:<entity>``: legacy rows = silver rows (+ orphans for transactions);
- ``orphans``: the legacy transactions without a store or product, found by anti-join on the legacy
  tables, are exactly the rows kept in ``silver.orphans``;
- ``hash:<table>``: a hash per key of every legacy column, legacy vs what silver gives back (the body of the
  compatibility view): missing keys, extra keys, duplicates and differing rows must all be 0;
- ``compat_view:<table>`` (after contract): the view under the legacy name vs the legacy rows kept aside;
- ``conformed:brands`` / ``conformed:categories``: each product's key is its text's ``UPPER(RTRIM())``
  and has its row;
- ``foreign_keys``: silver's five foreign keys are declared (the engine enforces them on every insert;
  they are created with the empty tables, so on SQL Server they are trusted from the start) and no row
  breaks them (anti-join);
- ``backfill_complete``: every entity's checkpoint reached the end of its legacy table.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from scout.db.base import Database
from scout.medallion.store import COMPAT_SELECT, LEGACY_COLUMNS, legacy_source, switch

#: Silver's foreign keys per table (V031).
FOREIGN_KEYS = {"products": 2, "transactions": 1, "transaction_items": 2}
#: Rows breaking a foreign key, per constraint (anti-joins).
FK_VIOLATIONS = {
    "products.brand_key": "SELECT COUNT(*) FROM silver.products AS p WHERE p.brand_key IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM silver.brands AS b WHERE b.brand_key = p.brand_key)",
    "products.category_key": "SELECT COUNT(*) FROM silver.products AS p WHERE p.category_key IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM silver.categories AS c WHERE c.category_key = p.category_key)",
    "transactions.store_id": "SELECT COUNT(*) FROM silver.transactions AS t "
    "WHERE NOT EXISTS (SELECT 1 FROM silver.stores AS s WHERE s.store_id = t.store_id)",
    "transaction_items.transaction_id": "SELECT COUNT(*) FROM silver.transaction_items AS i "
    "WHERE NOT EXISTS (SELECT 1 FROM silver.transactions AS t WHERE t.transaction_id = i.transaction_id)",
    "transaction_items.product_id": "SELECT COUNT(*) FROM silver.transaction_items AS i "
    "WHERE NOT EXISTS (SELECT 1 FROM silver.products AS p WHERE p.product_id = i.product_id)",
}
SAMPLE = 10


def _count(db: Database, sql: str, params: tuple[Any, ...] = ()) -> int:
    row = db.query_one(sql, params)
    return int(row[0]) if row and row[0] is not None else 0


def row_hashes(db: Database, sql: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, a 64-bit hash of each row's columns) of ``sql``, whose first column is the key, in key order.
    Every column is hashed as text (NULL as a character no text holds), so both engines hash alike."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    ids, hashes = [], []
    for batch in db.stream_arrow(sql):
        texts = [pc.cast(column, pa.string()) for column in batch.columns]
        joined = pc.binary_join_element_wise(*texts, "\x1f", null_handling="replace", null_replacement="\x00")
        ids.append(np.asarray(batch.column(0).to_numpy(zero_copy_only=False), dtype=np.int64))
        hashes.append(pd.util.hash_array(np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(ids), np.concatenate(hashes).astype(np.uint64)


def compare_hashes(
    name: str, expected: tuple[np.ndarray, np.ndarray], actual: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    """Key by key: keys missing from ``actual``, extra in it, duplicated in it, and rows that differ."""
    (e_ids, e_hash), (a_ids, a_hash) = expected, actual
    unique_a, first = np.unique(a_ids, return_index=True)
    duplicates = int(len(a_ids) - len(unique_a))
    missing = np.setdiff1d(e_ids, unique_a, assume_unique=True)
    extra = np.setdiff1d(unique_a, e_ids, assume_unique=True)
    common, e_at, a_at = np.intersect1d(e_ids, unique_a, assume_unique=True, return_indices=True)
    differ = common[e_hash[e_at] != a_hash[first[a_at]]]
    digest = hashlib.sha256(e_hash[np.argsort(e_ids, kind="stable")].tobytes()).hexdigest()[:16]
    return {
        "name": name,
        "passed": not (len(missing) or len(extra) or duplicates or len(differ)),
        "legacy_rows": int(len(e_ids)),
        "silver_rows": int(len(a_ids)),
        "missing": int(len(missing)),
        "extra": int(len(extra)),
        "duplicates": duplicates,
        "different": int(len(differ)),
        "sample_ids": [int(i) for i in np.concatenate([missing, extra, differ])[:SAMPLE]],
        "legacy_digest": digest,
    }


def _select(table: str, source: str) -> str:
    return f"SELECT {', '.join(LEGACY_COLUMNS[table])} FROM {source} ORDER BY id"


def _compat(table: str) -> str:
    return f"SELECT {', '.join(LEGACY_COLUMNS[table])} FROM ({COMPAT_SELECT[table]}) AS c ORDER BY id"


def orphan_counts(db: Database, transactions: str, geography: str, organization: str) -> dict[str, int]:
    """Legacy transactions whose store or product does not exist (or is NULL), by anti-join."""
    no_store = f"(t.geography_id IS NULL OR NOT EXISTS (SELECT 1 FROM {geography} AS g WHERE g.id = t.geography_id))"
    no_product = (
        f"(t.organization_id IS NULL OR NOT EXISTS (SELECT 1 FROM {organization} AS o WHERE o.id = t.organization_id))"
    )
    row = db.query_one(
        f"SELECT SUM(CASE WHEN {no_store} THEN 1 ELSE 0 END), SUM(CASE WHEN {no_product} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {no_store} OR {no_product} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN EXISTS (SELECT 1 FROM silver.orphans AS x WHERE x.source_table = N'transactions' "
        f"AND x.source_id = t.id) THEN 0 WHEN {no_store} OR {no_product} THEN 1 ELSE 0 END) "
        f"FROM {transactions} AS t"
    )
    values = [int(v or 0) for v in (row or (0, 0, 0, 0))]
    return {
        "transactions_without_store": values[0],
        "transactions_without_product": values[1],
        "orphan_transactions": values[2],
        "not_kept_aside": values[3],
    }


def verify(db: Database) -> dict[str, Any]:
    """Every check; ``passed`` when all pass."""
    contracted = switch(db, "contracted")
    source = {table: legacy_source(db, table) for table in LEGACY_COLUMNS}
    checks: list[dict[str, Any]] = []

    legacy_counts = {table: _count(db, f"SELECT COUNT(*) FROM {source[table]}") for table in LEGACY_COLUMNS}
    kept = _count(db, "SELECT COUNT(*) FROM silver.orphans WHERE source_table = N'transactions'")
    silver_counts = {
        "geography": _count(db, "SELECT COUNT(*) FROM silver.stores"),
        "organization": _count(db, "SELECT COUNT(*) FROM silver.products"),
        "transactions": _count(db, "SELECT COUNT(*) FROM silver.transactions"),
    }
    items = _count(db, "SELECT COUNT(*) FROM silver.transaction_items")
    for table in LEGACY_COLUMNS:
        placed = silver_counts[table] + (kept if table == "transactions" else 0)
        check = {"name": f"counts:{table}", "legacy": legacy_counts[table], "silver": silver_counts[table]}
        if table == "transactions":
            check.update(orphans=kept, items=items)
            check["passed"] = legacy_counts[table] == placed and items == silver_counts[table]
        else:
            check["passed"] = legacy_counts[table] == placed
        checks.append(check)

    orphans = orphan_counts(db, source["transactions"], source["geography"], source["organization"])
    checks.append(
        {
            "name": "orphans",
            "passed": orphans["not_kept_aside"] == 0 and orphans["orphan_transactions"] == kept,
            "found_by_anti_join": orphans["orphan_transactions"],
            "kept_aside": kept,
            "not_kept_aside": orphans["not_kept_aside"],
            "by_reason": {
                str(r[0]): int(r[1])
                for r in db.query(
                    "SELECT reason, COUNT(*) FROM silver.orphans WHERE source_table = N'transactions' GROUP BY reason"
                )
            },
        }
    )

    for table in LEGACY_COLUMNS:
        legacy_rows = row_hashes(db, _select(table, source[table]))
        checks.append(compare_hashes(f"hash:{table}", legacy_rows, row_hashes(db, _compat(table))))
        if contracted:
            view = row_hashes(db, _select(table, f"legacy.{table}"))
            checks.append(compare_hashes(f"compat_view:{table}", legacy_rows, view))

    for field, table, key_column in (("brand", "brands", "brand_key"), ("category", "categories", "category_key")):
        wrong = _count(
            db,
            f"SELECT COUNT(*) FROM silver.products AS p WHERE (RTRIM(p.{field}) <> N'' "
            f"AND (p.{key_column} IS NULL OR p.{key_column} <> UPPER(RTRIM(p.{field})))) "
            f"OR ((p.{field} IS NULL OR RTRIM(p.{field}) = N'') AND p.{key_column} IS NOT NULL)",
        )
        unused = _count(
            db,
            f"SELECT COUNT(*) FROM silver.{table} AS b WHERE NOT EXISTS "
            f"(SELECT 1 FROM silver.products AS p WHERE p.{key_column} = b.{key_column})",
        )
        rows = _count(db, f"SELECT COUNT(*) FROM silver.{table}")
        checks.append(
            {
                "name": f"conformed:{table}",
                "passed": wrong == 0 and unused == 0,
                table: rows,
                "wrong_key": wrong,
                "unused": unused,
            }
        )

    declared = {
        str(r[0]): int(r[1])
        for r in db.query(
            "SELECT table_name, COUNT(*) FROM information_schema.table_constraints WHERE table_schema = N'silver' "
            "AND constraint_type = N'FOREIGN KEY' GROUP BY table_name"
        )
    }
    violations = {name: _count(db, sql) for name, sql in FK_VIOLATIONS.items()}
    checks.append(
        {
            "name": "foreign_keys",
            "passed": all(declared.get(t, 0) >= n for t, n in FOREIGN_KEYS.items()) and not any(violations.values()),
            "declared": declared,
            "violations": violations,
            "trusted": "created with the empty tables: every row was checked on insert"
            if db.dialect != "duckdb"
            else "DuckDB enforces declared foreign keys on every insert (it has no untrusted state)",
        }
    )

    completed = [
        str(r[0]) for r in db.query("SELECT entity FROM ops.medallion_checkpoints WHERE completed_at IS NOT NULL")
    ]
    from scout.medallion.backfill import ENTITIES

    missing = sorted(set(ENTITIES) - set(completed))
    checks.append({"name": "backfill_complete", "passed": not missing, "unfinished": missing})

    return {
        "passed": all(c["passed"] for c in checks),
        "contracted": contracted,
        "orphans": {
            "transactions_without_store": orphans["transactions_without_store"],
            "transactions_without_product": orphans["transactions_without_product"],
        },
        "counts": {"legacy": legacy_counts, "silver": {**silver_counts, "orphans": kept}},
        "checks": checks,
    }
