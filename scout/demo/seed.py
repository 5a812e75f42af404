"""Generate realistic synthetic source data, vectorised (numpy) and deterministic for a seed.

Shoppers follow a latent persona drawn from the *active rules in the database* (age, gender, hours,
categories, Taglish terms), so inference has something real to find; a third are plain Regulars.
Hazards of production are kept on purpose: 1–3 interactions per transaction (the JOIN fan-out),
0–2 insight rows per transaction, interactions without a timestamp, explicit roles, under-18s.

Only the embedded DuckDB database is ever seeded: there the source objects are tables this app
created. In production they belong to ingestion (``dbo.v_insight_base`` is a view) and demo data must
never reach them, so any other database is refused before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from scout.db.base import Database
from scout.demo import catalog
from scout.errors import InvalidInput
from scout.personas.rules import FALLBACK_ROLE, text_key

if TYPE_CHECKING:
    from scout.db.duckdb_backend import DuckDBDatabase

SOURCE_TABLES = (
    "dbo.v_insight_base",
    "dbo.SalesInteractions",
    "dbo.TransactionItems",
    "dbo.Transactions",
    "dbo.Stores",
)
# What the jobs derived from the source rows, per transaction id: a new seed reusing an id must not
# inherit the old transaction's basket summary or persona.
DERIVED_TABLES = ("ref.transaction_personas", "ref.transaction_baskets")
# Demo only: the latent persona the seeder drew for each shopper (the truth the evaluation can be checked
# against). Cleared and written with the source rows, when the migration that creates it has run.
LATENT_TABLE = "ref.demo_latent_personas"
TRANSCRIPT_SHARE = 0.4  # share of interactions with a transcript
OBSERVED_SHARE = 0.25  # share of shoppers whose role staff observed (EmotionalState, first interaction)
EMBEDDED_ONLY = (
    "demo data is seeded only into the embedded DuckDB database (SCOUT_DATABASE_URL=duckdb:///<path>): "
    "{what} is a production database whose source objects belong to ingestion"
)
MAX_TRANSACTIONS = 20_000_000
MAX_SEED = 2**63 - 1
START = np.datetime64("2025-09-01T00:00:00")
DAYS = 30
# Share of transactions per hour of day: a morning and an evening peak, a thin night.
HOURLY = np.array(
    [1, 0.6, 0.4, 0.3, 0.5, 1.5, 3.5, 5, 5, 4.5, 4.5, 5.5, 6, 5, 4.5, 4.5, 5.5, 7, 7.5, 6.5, 5, 3.5, 2.5, 1.5]
)


def _rules(db: Database) -> list[dict[str, Any]]:
    from scout.personas.rules import load_rules

    return [r.__dict__ for r in load_rules(db)]


def source_row_count(db: Database) -> int:
    return int(db.query_value("SELECT COUNT(*) FROM dbo.Transactions"))


def check_seed_input(
    transactions: Any, seed: Any, transcript_share: Any = TRANSCRIPT_SHARE, observed_share: Any = OBSERVED_SHARE
) -> None:
    """How many transactions, which seed, which shares: in range, checked before anything is touched."""
    if isinstance(transactions, bool) or not isinstance(transactions, int) or not 1 <= transactions <= MAX_TRANSACTIONS:
        raise InvalidInput(f"--transactions must be a whole number from 1 to {MAX_TRANSACTIONS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"--seed must be a whole number from 0 to {MAX_SEED:,} (2**63 - 1)")
    for name, share in (("--transcript-share", transcript_share), ("--observed-share", observed_share)):
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise InvalidInput(f"{name} must be a number from 0 to 1")


def require_embedded(db: Database) -> None:
    if db.dialect != "duckdb":
        raise InvalidInput(EMBEDDED_ONLY.format(what=f"this {db.dialect} database"))


def clear_sources(db: Database) -> None:
    """Delete the demo source rows and everything derived from them (the derived tables first)."""
    require_embedded(db)
    for table in (*DERIVED_TABLES, LATENT_TABLE):
        schema, name = table.split(".")
        if db.table_exists(schema, name):
            db.execute(f"DELETE FROM {table}")
    for table in SOURCE_TABLES:
        db.execute(f"DELETE FROM {table}")


def generate(
    transactions: int,
    seed: int,
    rules: list[dict[str, Any]],
    *,
    transcript_share: float = TRANSCRIPT_SHARE,
    observed_share: float = OBSERVED_SHARE,
) -> dict[str, dict[str, np.ndarray]]:
    """Columns of every source table, and of ``ref.demo_latent_personas`` (no I/O): the same seed, rules
    and shares give the same data."""
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 60])  # draws added later: the older columns stay as they were
    n = transactions
    products = catalog.PRODUCTS
    categories = np.array([p[2] for p in products])
    prices = np.array([p[3] for p in products])

    # stores: 48 over the 18 regions
    store_ids = np.arange(1, 49)
    stores = {
        "store_id": store_ids,
        "store_name": np.array(
            [
                f"{catalog.OWNERS[i % len(catalog.OWNERS)]}'s Sari-Sari #{i // len(catalog.OWNERS) + 1}"
                for i in range(48)
            ],
            dtype=object,
        ),
        "region": np.array([catalog.REGIONS[i % 18][0] for i in range(48)], dtype=object),
        "city": np.array([catalog.REGIONS[i % 18][1] for i in range(48)], dtype=object),
    }

    # latent persona: index into rules, -1 = Regular
    k = len(rules)
    persona = np.where(rng.random(n) < 0.35, -1, rng.integers(0, max(k, 1), n)) if k else np.full(n, -1)

    # when: day (weekends busier), hour (rule window, else the daily rhythm), minute, second
    day_weights = np.array([1.3 if d % 7 in (5, 6) else 1.0 for d in range(DAYS)])  # day 0 is a Monday
    day = rng.choice(DAYS, n, p=day_weights / day_weights.sum())
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    age = rng.integers(15, 76, n).astype(float)
    gender = np.where(rng.random(n) < 0.5, "Male", "Female").astype(object)
    for i, rule in enumerate(rules):
        mask = persona == i
        m = int(mask.sum())
        if not m:
            continue
        lo, hi = rule["hour_min"], rule["hour_max"]
        if lo is not None and hi is not None:  # the rule's hours, wrapping past midnight
            span = (hi - lo) % 24 + 1
            hour[mask] = (lo + rng.integers(0, span, m)) % 24
        a_lo, a_hi = rule["min_age"] or 18, rule["max_age"] or 65
        age[mask] = rng.integers(a_lo, a_hi + 1, m)
        if rule["genders"]:
            gender[mask] = rng.choice(np.array(rule["genders"], dtype=object), m)
    age[rng.random(n) < 0.10] = np.nan
    gender[rng.random(n) < 0.08] = None
    txn_ts = (
        START
        + day.astype("timedelta64[D]")
        + hour.astype("timedelta64[h]")
        + rng.integers(0, 3600, n).astype("timedelta64[s]")
    )

    # basket lines: 1-6 per transaction; persona shoppers lean to their rule's categories
    lines = np.minimum(1 + rng.geometric(0.45, n) - 1, 6)
    tx_of_line = np.repeat(np.arange(n), lines)
    line_no = np.arange(len(tx_of_line)) - np.repeat(np.cumsum(lines) - lines, lines) + 1
    product = rng.integers(0, len(products), len(tx_of_line))
    persona_of_line = persona[tx_of_line]
    leaning = rng.random(len(tx_of_line)) < 0.6
    for i, rule in enumerate(rules):
        pool = np.flatnonzero(np.isin([text_key(c) for c in categories], [text_key(c) for c in rule["categories"]]))
        mask = (persona_of_line == i) & leaning
        if len(pool) and mask.any():
            product[mask] = rng.choice(pool, int(mask.sum()))
    quantity = 1 + rng.poisson(0.4, len(tx_of_line))
    first_line = np.cumsum(lines) - lines
    for i, rule in enumerate(rules):  # resellers, parents, party buyers: most buy at least min_items
        if rule["min_items"] is None:
            continue
        big = np.flatnonzero((persona == i) & (extra.random(n) < 0.7))
        bought = np.bincount(tx_of_line, weights=quantity, minlength=n)[big].astype(np.int64)
        wanted = rule["min_items"] + extra.integers(0, 3, len(big))
        quantity[first_line[big]] += np.maximum(wanted - bought, 0)
    amount = quantity * prices[product]
    total_amount = np.round(np.bincount(tx_of_line, weights=amount, minlength=n), 2)
    total_items = np.bincount(tx_of_line, weights=quantity, minlength=n).astype(np.int64)

    tx_ids = np.array([f"TX{seed % 1000:03d}-{i:08d}" for i in range(n)], dtype=object)
    store_of_tx = rng.choice(store_ids, n)

    # interactions: 1-3 per transaction (the fan-out hazard), same shopper, a few seconds apart
    count = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    tx_of_ix = np.repeat(np.arange(n), count)
    m = len(tx_of_ix)
    ix_ts = txn_ts[tx_of_ix] + rng.integers(0, 300, m).astype("timedelta64[s]")
    no_ts = rng.random(m) < 0.05
    first = np.r_[True, tx_of_ix[1:] != tx_of_ix[:-1]]
    persona_of_ix = persona[tx_of_ix]
    mood = rng.choice(np.array(catalog.MOODS, dtype=object), m)
    mood[rng.random(m) < 0.2] = None
    names = np.array([r["role_name"] for r in rules] + [FALLBACK_ROLE], dtype=object)
    # staff observe the shopper's role (a persona, or Regular) on the first interaction of a share of them
    explicit = first & (rng.random(m) < observed_share)
    emotional = np.where(explicit, names[persona_of_ix], mood)
    transcripts = _transcripts(rng, persona_of_ix, rules, m, transcript_share)

    # insight rows: 0-2 per transaction, substitutions on a few
    insight_count = rng.choice([0, 1, 2], n, p=[0.5, 0.35, 0.15])
    tx_of_insight = np.repeat(np.arange(n), insight_count)
    substitution = np.where(rng.random(len(tx_of_insight)) < 0.12, "1", "0").astype(object)

    return {
        "dbo.Stores": stores,
        "dbo.Transactions": {
            "canonical_tx_id": tx_ids,
            "store_id": store_of_tx,
            "txn_ts": txn_ts,
            "total_amount": total_amount,
            "total_items": total_items,
        },
        "dbo.TransactionItems": {
            "canonical_tx_id": tx_ids[tx_of_line],
            "line_no": line_no,
            "product_name": np.array([p[0] for p in products], dtype=object)[product],
            "brand": np.array([p[1] for p in products], dtype=object)[product],
            "category": categories.astype(object)[product],
            "quantity": quantity,
            "unit_price": prices[product],
        },
        "dbo.SalesInteractions": {
            "InteractionID": np.array([f"IX{seed % 1000:03d}-{i:09d}" for i in range(m)], dtype=object),
            "canonical_tx_id": tx_ids[tx_of_ix],
            "StoreID": store_of_tx[tx_of_ix],
            "TransactionDate": np.where(no_ts, np.datetime64("NaT"), ix_ts),
            "Age": age[tx_of_ix],
            "Gender": gender[tx_of_ix],
            "EmotionalState": emotional,
            "TranscriptionText": transcripts,
        },
        "dbo.v_insight_base": {"sessionId": tx_ids[tx_of_insight], "substitution_event": substitution},
        LATENT_TABLE: {"canonical_tx_id": tx_ids, "persona": names[persona]},
    }


def _transcripts(
    rng: np.random.Generator, persona_of_ix: np.ndarray, rules: list[dict[str, Any]], m: int, share: float
) -> np.ndarray:
    """Taglish snippets on ``share`` of interactions; persona shoppers often say one of their rule's terms."""
    fillers = np.array(catalog.FILLERS, dtype=object)
    has_text = rng.random(m) < share
    a, b = rng.choice(fillers, m), rng.choice(fillers, m)
    says_term = rng.random(m) < 0.7
    out = np.full(m, None, dtype=object)
    term_pick = rng.random(m)
    for idx in np.flatnonzero(has_text):
        p = persona_of_ix[idx]
        terms = rules[p]["include_terms"] if p >= 0 else ()
        if terms and says_term[idx]:
            term = terms[int(term_pick[idx] * len(terms))]
            out[idx] = f"{a[idx].capitalize()}, {term} po. {b[idx]}"
        else:
            out[idx] = f"{a[idx].capitalize()}, {b[idx]}."
    return out


def seed_demo(
    db: Database,
    *,
    transactions: int = 12047,
    seed: int = 42,
    replace: bool = False,
    transcript_share: float = TRANSCRIPT_SHARE,
    observed_share: float = OBSERVED_SHARE,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Fill the (empty) source tables of the embedded database; returns the row count of each. With
    ``replace``, what they held and what was derived from it is deleted in the same transaction."""
    require_embedded(db)
    check_seed_input(transactions, seed, transcript_share, observed_share)
    started = time.perf_counter()
    progress(f"generating {transactions:,} transactions (seed {seed})")
    data = generate(
        transactions, seed, _rules(db), transcript_share=float(transcript_share), observed_share=float(observed_share)
    )
    progress(f"generated in {time.perf_counter() - started:.1f} s; writing")
    counts = {}
    with db.transaction():
        if replace:
            clear_sources(db)
        for table in reversed(SOURCE_TABLES):
            counts[table] = write_table(db, table, data[table], progress)
        if db.table_exists(*LATENT_TABLE.split(".")):
            if not replace:
                db.execute(f"DELETE FROM {LATENT_TABLE}")
            write_table(db, LATENT_TABLE, data[LATENT_TABLE], progress)
    progress(f"seeded in {time.perf_counter() - started:.1f} s")
    return {
        "transactions": transactions,
        "seed": seed,
        "rows": counts,
        "seconds": round(time.perf_counter() - started, 2),
    }


def write_table(db: Database, table: str, columns: dict[str, np.ndarray], progress: Callable[[str], None]) -> int:
    """Bulk-insert columns into a table of the embedded DuckDB database, through Arrow."""
    if db.dialect == "duckdb":  # the only database demo data may reach
        import pyarrow as pa

        names = list(columns)
        arrays = []
        for name in names:
            values = columns[name]
            if values.dtype.kind == "M":
                arrays.append(pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us")))
            elif values.dtype.kind == "f" and name in ("Age",):
                arrays.append(pa.array(values, from_pandas=True).cast(pa.int32()))
            else:
                arrays.append(pa.array(values, from_pandas=True))
        arrow = pa.Table.from_arrays(arrays, names=names)
        conn = cast("DuckDBDatabase", db).connection
        conn.register("_scout_seed", arrow)
        try:
            conn.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} FROM _scout_seed")
        finally:
            conn.unregister("_scout_seed")
        return arrow.num_rows
    raise InvalidInput(EMBEDDED_ONLY.format(what=f"this {db.dialect} database"))
