"""``scout demo seed --legacy``: the legacy store/product database (``legacy.*``) at its July 2025 scale,
with every hazard real legacy data has, for the embedded DuckDB database only.

Scale by default: 376,212 transactions, 48 stores, 43 products, 18 regions. Hazards, on purpose:
- transactions whose store (``geography_id``) or product (``organization_id``) no longer exists, or is NULL;
- products without a brand or a category;
- the same brand (and one category) spelled with different case or trailing spaces;
- stores without a region.
The catalogue hazards are fixed (the same 48 stores and 43 products for every seed); the transactions
are drawn from the seed, so the same seed gives the same rows. ``hazards`` counts each from the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from scout.db.base import Database
from scout.db.collation import key
from scout.demo import catalog
from scout.demo.seed import EMBEDDED_ONLY, MAX_SEED, write_table
from scout.errors import InvalidInput

LEGACY_TRANSACTIONS = 376_212
MAX_LEGACY_TRANSACTIONS = 20_000_000
STORES = 48
FIRST_DAY = np.datetime64("2025-02-01T00:00:00")
DAYS = 181  # February to July 2025
#: Stores (0-based) whose region is NULL.
STORES_WITHOUT_REGION = (5, 17, 29, 41)
#: Products (0-based) whose brand or category is NULL.
PRODUCTS_WITHOUT_BRAND = (12, 30, 40)
PRODUCTS_WITHOUT_CATEGORY = (21, 30)
#: (product (0-based), brand as legacy spelled it): makers filed under one brand, spelled three ways
#: (Nestle, NESTLE, "Nestle "; Coca-Cola, COCA-COLA, "Coca-Cola "; Unilab, UNILAB).
BRAND_SPELLINGS = (
    (8, "Coca-Cola"),
    (10, "COCA-COLA"),
    (11, "Coca-Cola "),
    (16, "NESTLE"),
    (26, "Nestle "),
    (35, "UNILAB"),
)
CATEGORY_SPELLINGS = ((4, "snacks"), (5, "Snacks "))
#: Legacy ids that no longer exist (transactions still point at them).
DANGLING_STORES = tuple(range(STORES + 1, STORES + 9))  # 49..56
DANGLING_PRODUCTS = tuple(range(len(catalog.PRODUCTS) + 1, len(catalog.PRODUCTS) + 8))  # 44..50
#: Share of transactions with each broken reference (drawn independently: a few have both).
SHARE_DANGLING_STORE = 0.0037
SHARE_NULL_STORE = 0.0011
SHARE_DANGLING_PRODUCT = 0.0029
SHARE_NULL_PRODUCT = 0.0008
LEGACY_TABLES = ("legacy.transactions", "legacy.organization", "legacy.geography")


def check_legacy_input(transactions: Any, seed: Any) -> None:
    if (
        isinstance(transactions, bool)
        or not isinstance(transactions, int)
        or not 1 <= transactions <= MAX_LEGACY_TRANSACTIONS
    ):
        raise InvalidInput(f"--transactions must be a whole number from 1 to {MAX_LEGACY_TRANSACTIONS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"--seed must be a whole number from 0 to {MAX_SEED:,} (2**63 - 1)")


def geography() -> dict[str, np.ndarray]:
    """48 stores over the 18 regions; four have no region, some no city or barangay."""
    regions = [catalog.REGIONS[i % len(catalog.REGIONS)] for i in range(STORES)]
    owners = catalog.OWNERS
    return {
        "id": np.arange(1, STORES + 1),
        "store_name": np.array(
            [f"{owners[i % len(owners)]}'s Store #{i // len(owners) + 1}" for i in range(STORES)], dtype=object
        ),
        "region": np.array(
            [None if i in STORES_WITHOUT_REGION else regions[i][0] for i in range(STORES)], dtype=object
        ),
        "city": np.array([None if i % 11 == 3 else regions[i][1] for i in range(STORES)], dtype=object),
        "barangay": np.array([None if i % 7 == 2 else f"Brgy. {10 + i * 3}" for i in range(STORES)], dtype=object),
    }


def organization() -> dict[str, np.ndarray]:
    """The 43 products of the catalogue as legacy spelled them (brand and category variants, gaps)."""
    names, brands, categories, prices = (list(column) for column in zip(*catalog.PRODUCTS))
    for index, spelling in BRAND_SPELLINGS:
        brands[index] = spelling
    for index, spelling in CATEGORY_SPELLINGS:
        categories[index] = spelling
    for index in PRODUCTS_WITHOUT_BRAND:
        brands[index] = None
    for index in PRODUCTS_WITHOUT_CATEGORY:
        categories[index] = None
    price = np.array(prices, dtype=object)
    price[len(prices) - 1] = None  # rice: sold by weight, no list price
    return {
        "id": np.arange(1, len(names) + 1),
        "product_name": np.array(names, dtype=object),
        "brand": np.array(brands, dtype=object),
        "category": np.array(categories, dtype=object),
        "unit_price": price,
    }


def transactions(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` legacy transactions (one product line each), deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    prices = np.array([p[3] for p in catalog.PRODUCTS])
    ids = 1_000_000 + np.cumsum(1 + (rng.random(n) < 0.02))  # a few ids skipped, as deletes leave them
    store_weight = rng.gamma(2.0, 1.0, STORES)
    store = rng.choice(STORES, n, p=store_weight / store_weight.sum()) + 1
    product_weight = rng.gamma(1.5, 1.0, len(prices))
    product = rng.choice(len(prices), n, p=product_weight / product_weight.sum())
    hour_weight = np.array([1, 0.5, 0.3, 0.3, 0.5, 2, 4, 5, 5, 4, 4, 5, 6, 5, 4, 4, 5, 7, 7, 6, 5, 3, 2, 1.5])
    day = rng.integers(0, DAYS, n)
    stamp = (
        FIRST_DAY
        + day.astype("timedelta64[D]")
        + rng.choice(24, n, p=hour_weight / hour_weight.sum()).astype("timedelta64[h]")
        + rng.integers(0, 3600, n).astype("timedelta64[s]")
    )
    quantity = 1 + rng.poisson(0.5, n)
    peso_value = np.round(quantity * prices[product], 2)
    geography_id = store.astype(object)
    organization_id = (product + 1).astype(object)
    dangling_store = rng.random(n) < SHARE_DANGLING_STORE
    null_store = ~dangling_store & (rng.random(n) < SHARE_NULL_STORE)
    dangling_product = rng.random(n) < SHARE_DANGLING_PRODUCT
    null_product = ~dangling_product & (rng.random(n) < SHARE_NULL_PRODUCT)
    geography_id[dangling_store] = rng.choice(DANGLING_STORES, int(dangling_store.sum()))
    geography_id[null_store] = None
    organization_id[dangling_product] = rng.choice(DANGLING_PRODUCTS, int(dangling_product.sum()))
    organization_id[null_product] = None
    order = np.argsort(stamp, kind="stable")  # ids grow with time, as an identity column's do
    return {
        "id": ids,
        "geography_id": geography_id[order],
        "organization_id": organization_id[order],
        "transaction_ts": stamp[order],
        "quantity": quantity[order],
        "peso_value": peso_value[order],
    }


def hazards(data: dict[str, dict[str, np.ndarray]]) -> dict[str, int]:
    """Each hazard of the generated data, counted from the data itself."""
    stores = set(int(i) for i in data["legacy.geography"]["id"])
    products = set(int(i) for i in data["legacy.organization"]["id"])
    tx = data["legacy.transactions"]
    without_store = sum(1 for g in tx["geography_id"] if g is None or int(g) not in stores)
    without_product = sum(1 for o in tx["organization_id"] if o is None or int(o) not in products)
    both = sum(
        1
        for g, o in zip(tx["geography_id"], tx["organization_id"])
        if (g is None or int(g) not in stores) and (o is None or int(o) not in products)
    )
    org = data["legacy.organization"]
    brand_keys: dict[str, set[str]] = {}
    for brand in org["brand"]:
        if brand is not None:
            brand_keys.setdefault(str(key(brand)), set()).add(brand)  # "Nestle" and "Nestle " are two spellings
    return {
        "transactions_without_store": without_store,
        "transactions_without_product": without_product,
        "transactions_without_either": both,
        "orphan_transactions": without_store + without_product - both,
        "products_without_brand": sum(1 for b in org["brand"] if b is None),
        "products_without_category": sum(1 for c in org["category"] if c is None),
        "brand_spelling_variants": sum(len(s) - 1 for s in brand_keys.values()),
        "stores_without_region": sum(1 for r in data["legacy.geography"]["region"] if r is None),
    }


def generate(n: int = LEGACY_TRANSACTIONS, seed: int = 42) -> dict[str, dict[str, np.ndarray]]:
    return {
        "legacy.geography": geography(),
        "legacy.organization": organization(),
        "legacy.transactions": transactions(n, seed),
    }


def legacy_row_count(db: Database) -> int:
    row = db.query_one("SELECT COUNT(*) FROM legacy.transactions")
    return int(row[0]) if row else 0


def seed_legacy(
    db: Database,
    *,
    transactions: int = LEGACY_TRANSACTIONS,
    seed: int = 42,
    replace: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Fill the legacy tables of the embedded database (emptied first with ``replace``, in the same
    transaction, after everything the medallion derived from them)."""
    if db.dialect != "duckdb":
        raise InvalidInput(EMBEDDED_ONLY.format(what=f"this {db.dialect} database"))
    check_legacy_input(transactions, seed)
    started = time.perf_counter()
    progress(f"generating {transactions:,} legacy transactions (seed {seed})")
    data = generate(transactions, seed)
    counts = {}
    if replace:
        from scout.medallion.store import clear_derived

        clear_derived(db)  # first, each table committed on its own (see clear_derived)
    with db.transaction():
        if replace:
            for table in LEGACY_TABLES:
                db.execute(f"DELETE FROM {table}")
        for table in reversed(LEGACY_TABLES):
            counts[table] = write_table(db, table, data[table], progress)
    progress(f"seeded the legacy tables in {time.perf_counter() - started:.1f} s")
    return {
        "transactions": transactions,
        "seed": seed,
        "rows": counts,
        "hazards": hazards(data),
        "seconds": round(time.perf_counter() - started, 2),
    }


def seed_job(
    *,
    trigger: str,
    transactions: int = LEGACY_TRANSACTIONS,
    seed: int = 42,
    replace: bool = False,
    settings: Any = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recorded job ``demo.seed_legacy``: refused (before connecting) for anything but the embedded database,
    and for filled legacy tables without ``replace``."""
    from scout.config import Settings
    from scout.db import connect, parse_database_url
    from scout.jobs.runs import JobContext, run_job

    settings = settings or Settings.from_env()
    scheme, server, _ = parse_database_url(settings.database_url)
    if scheme != "duckdb":
        raise InvalidInput(EMBEDDED_ONLY.format(what=f"{scheme}://{server}"))
    check_legacy_input(transactions, seed)
    if not isinstance(replace, bool):
        raise InvalidInput("replace must be true or false")
    with connect(settings) as db:
        if not db.table_exists("legacy", "transactions"):
            raise InvalidInput(f"{db.display_name} has no legacy tables: run scout migrate apply first")
        existing = legacy_row_count(db)
        if existing and not replace:
            raise InvalidInput(
                f"the legacy tables already hold {existing:,} transactions: use --replace to start over "
                "(silver, the checkpoints and gold's legacy rows are emptied with them)"
            )

        def body(ctx: JobContext) -> dict[str, Any]:
            return seed_legacy(ctx.db, transactions=transactions, seed=seed, replace=replace, progress=ctx.progress)

        return run_job("demo.seed_legacy", trigger, body, settings=settings, progress=progress, db=db)
