"""The medallion's bookkeeping (switches, checkpoints, log) and the SQL the steps share: the legacy
columns, and the compatibility queries that give them back from silver."""

from __future__ import annotations

import json
import uuid
from typing import Any

from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import now_utc

#: The legacy tables and their columns, in the legacy order (the compatibility views list them explicitly).
LEGACY_COLUMNS: dict[str, tuple[str, ...]] = {
    "geography": ("id", "store_name", "region", "city", "barangay"),
    "organization": ("id", "product_name", "brand", "category", "unit_price"),
    "transactions": ("id", "geography_id", "organization_id", "transaction_ts", "quantity", "peso_value"),
}
#: Each legacy table's definition (V030), to recreate it on rollback and for the copy kept aside on contract.
LEGACY_DEFINITIONS: dict[str, str] = {
    "geography": "id INT NOT NULL PRIMARY KEY, store_name NVARCHAR(200) NOT NULL, region NVARCHAR(100) NULL, "
    "city NVARCHAR(100) NULL, barangay NVARCHAR(100) NULL",
    "organization": "id INT NOT NULL PRIMARY KEY, product_name NVARCHAR(200) NOT NULL, brand NVARCHAR(100) NULL, "
    "category NVARCHAR(100) NULL, unit_price DECIMAL(18, 2) NULL",
    "transactions": "id BIGINT NOT NULL PRIMARY KEY, geography_id INT NULL, organization_id INT NULL, "
    "transaction_ts DATETIME2 NOT NULL, quantity INT NOT NULL, peso_value DECIMAL(18, 2) NOT NULL",
}
#: The legacy rows as silver gives them back: the bodies of the compatibility views, column for column.
COMPAT_SELECT: dict[str, str] = {
    "geography": "SELECT store_id AS id, store_name, region, city, barangay FROM silver.stores",
    "organization": "SELECT product_id AS id, product_name, brand, category, unit_price FROM silver.products",
    "transactions": "SELECT t.transaction_id AS id, t.store_id AS geography_id, i.product_id AS organization_id, "
    "t.transaction_ts, i.quantity, i.peso_value FROM silver.transactions AS t "
    "JOIN silver.transaction_items AS i ON i.transaction_id = t.transaction_id AND i.line_no = 1 "
    "UNION ALL SELECT o.source_id AS id, o.geography_id, o.organization_id, o.transaction_ts, o.quantity, "
    "o.peso_value FROM silver.orphans AS o WHERE o.source_table = N'transactions'",
}
#: Where the legacy tables are kept after contract.
ASIDE_SUFFIX = "_pre_medallion"
#: Silver tables, children first (the order rows are deleted in).
SILVER_TABLES = (
    "silver.orphans",
    "silver.transaction_items",
    "silver.transactions",
    "silver.products",
    "silver.categories",
    "silver.brands",
    "silver.stores",
)
SWITCHES = ("contracted", "refresh")


class MedallionNotReady(InvalidInput):
    """The medallion migrations (V030–V033) are not applied: nothing to do yet."""


def require_medallion(db: Database) -> None:
    if not db.table_exists("ops", "medallion_switches") or not db.table_exists("gold", "daily_sales"):
        raise MedallionNotReady(f"{db.display_name} has no medallion tables: run scout migrate apply first (V030–V033)")


def switch(db: Database, name: str) -> bool:
    row = db.query_one("SELECT is_on FROM ops.medallion_switches WHERE switch_name = ?", (name,))
    return bool(row and row[0])


def set_switch(db: Database, name: str, on: bool, by: str) -> None:
    """Turn a switch on or off (inside the caller's transaction)."""
    if name not in SWITCHES:
        raise ValueError(f"unknown switch {name!r}")
    db.execute(
        "UPDATE ops.medallion_switches SET is_on = ?, changed_at = ?, changed_by = ? WHERE switch_name = ?",
        (on, now_utc(), by[:200], name),
    )


def legacy_source(db: Database, table: str) -> str:
    """Where the legacy rows of ``table`` are: the table itself, or after contract the copy kept aside."""
    return f"legacy.{table}{ASIDE_SUFFIX}" if switch(db, "contracted") else f"legacy.{table}"


def log_step(db: Database, step: str, run_id: str | None, passed: bool | None, details: dict[str, Any]) -> None:
    """One row of the medallion log (inside the caller's transaction)."""
    db.execute(
        "INSERT INTO ops.medallion_log (log_id, step, run_id, logged_at, passed, details) VALUES (?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), step, run_id, now_utc(), passed, json.dumps(details, default=str, sort_keys=True)),
    )


def last_logged(db: Database, step: str) -> dict[str, Any] | None:
    rows = db.query_dicts(
        "SELECT TOP 1 step, run_id, logged_at, passed, details FROM ops.medallion_log WHERE step = ? "
        "ORDER BY logged_at DESC",
        (step,),
    )
    if not rows:
        return None
    row = rows[0]
    row["details"] = json.loads(row["details"]) if row["details"] else {}
    row["passed"] = None if row["passed"] is None else bool(row["passed"])
    return row


def clear_derived(db: Database) -> None:
    """Empty silver, the checkpoints and gold's legacy rows (a new legacy seed must not inherit them), each
    table in a transaction of its own, children first: DuckDB refuses to delete a parent row in the
    transaction that deleted its children (a documented limitation of its foreign keys)."""
    if not db.table_exists("silver", "stores"):
        return
    if db.table_exists("ops", "medallion_switches") and switch(db, "contracted"):
        raise InvalidInput("the legacy tables are contracted (views over silver): run scout medallion rollback first")
    statements = [f"DELETE FROM {table}" for table in SILVER_TABLES]
    statements.append("DELETE FROM ops.medallion_checkpoints")
    statements.append("DELETE FROM gold.daily_sales WHERE source_name = N'legacy'")
    statements.append("DELETE FROM gold.refresh_watermarks WHERE source_name = N'legacy'")
    for statement in statements:
        with db.transaction():
            db.execute(statement)
