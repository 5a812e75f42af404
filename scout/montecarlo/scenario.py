"""A scenario as the user states it, validated before any work starts; and the segment's history."""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scout.db.base import Database
from scout.db.collation import key as text_key
from scout.errors import InvalidInput

if TYPE_CHECKING:
    from scout.montecarlo.model import Fitted

MAX_ITERATIONS = 1_000_000
MAX_HORIZON = 366
MAX_BATCHES = 100
#: Segment keys and the SQL that lists their valid values.
SEGMENT_KEYS = {
    # one spelling per value as Azure SQL's collation groups them (scout.db.collation)
    "region": "SELECT MIN(RTRIM(region) COLLATE Latin1_General_100_BIN2) FROM dbo.Stores GROUP BY UPPER(RTRIM(region))",
    "store": "SELECT DISTINCT CAST(store_id AS NVARCHAR(20)) FROM dbo.Stores",
    "brand": "SELECT MIN(RTRIM(brand) COLLATE Latin1_General_100_BIN2) FROM dbo.TransactionItems "
    "WHERE brand IS NOT NULL GROUP BY UPPER(RTRIM(brand))",
    "category": "SELECT MIN(RTRIM(category) COLLATE Latin1_General_100_BIN2) FROM dbo.TransactionItems "
    "WHERE category IS NOT NULL GROUP BY UPPER(RTRIM(category))",
    "role": "SELECT MIN(RTRIM(role) COLLATE Latin1_General_100_BIN2) FROM ref.transaction_personas GROUP BY UPPER(RTRIM(role))",
}


@dataclass(frozen=True)
class Scenario:
    segment: dict[str, str] = field(default_factory=dict)
    horizon_days: int = 30
    iterations: int = 1000
    seed: int | None = None
    batches: int = 4
    price_change_pct: float = 0.0
    elasticity: float = -1.2
    promo_uplift_pct: float = 0.0
    store_change: int = 0
    target: float | None = None
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Longest segment value accepted (store ids, region, brand and category names are far shorter).
MAX_SEGMENT_VALUE = 200
MAX_NAME = 100


def _number(raw: dict[str, Any], name: str, kind: type, default: Any, lo: float, hi: float) -> Any:
    """A finite number of ``kind`` in [lo, hi]. JSON's ``true`` is not 1, and Python's json reads ``NaN``,
    ``Infinity`` and ``1e999``: each is refused here, so it is a 400, never a 500 deeper down. ``null``
    means the default."""
    value = raw.get(name)
    if value is None:
        value = default
    if value is None:
        return None
    what = "an integer" if kind is int else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{name} must be {what}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise InvalidInput(f"{name} must be {what}")
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo:g} and {hi:g}")
    return kind(value)


def _text(value: Any, what: str, longest: int, *, empty_ok: bool) -> str:
    """Text a person could have typed: not too long, not empty (unless allowed), encodable (no lone surrogates)."""
    if not isinstance(value, str) or len(value) > longest:
        raise InvalidInput(f"{what} must be text of at most {longest} characters")
    if not empty_ok and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode text") from None
    return value


def _segment(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput('segment must be an object like {"region": "NCR"}')
    bad = sorted(set(raw) - set(SEGMENT_KEYS))
    if bad:
        shown = ", ".join(repr(b) if len(b) <= 40 else repr(b[:37]) + "..." for b in bad[:5])
        raise InvalidInput(f"unknown segment key(s): {shown}; allowed: {', '.join(SEGMENT_KEYS)}")
    segment = {}
    for key, value in raw.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 2**63 - 1:
                raise InvalidInput(f"segment {key} must be text or a store number")
            value = str(value)
        segment[key] = _text(value, f"segment {key}", MAX_SEGMENT_VALUE, empty_ok=False)
    return segment


def parse_scenario(raw: dict[str, Any]) -> Scenario:
    """Validate a scenario's shape, types and ranges before any work starts (its segment values are checked
    against the data later, by ``check_segment``)."""
    if not isinstance(raw, dict):
        raise InvalidInput("a scenario must be a JSON object")
    allowed = set(Scenario.__dataclass_fields__)
    unknown = sorted(str(k) for k in set(raw) - allowed)
    if unknown:
        shown = ", ".join(u if len(u) <= 40 else u[:37] + "..." for u in unknown[:5])
        raise InvalidInput(f"unknown field(s): {shown}; allowed: {', '.join(sorted(allowed))}")
    segment = _segment(raw.get("segment"))
    horizon = raw.get("horizon_days", 30)
    if isinstance(horizon, (int, float)) and not isinstance(horizon, bool) and math.isfinite(horizon) and horizon <= 0:
        raise InvalidInput("horizon_days must be at least 1")
    name = _text("" if raw.get("name") is None else raw["name"], "name", MAX_NAME, empty_ok=True)
    return Scenario(
        segment=segment,
        horizon_days=_number(raw, "horizon_days", int, 30, 1, MAX_HORIZON),
        iterations=_number(raw, "iterations", int, 1000, 1, MAX_ITERATIONS),
        seed=_number(raw, "seed", int, None, 0, 2**63 - 1),
        batches=_number(raw, "batches", int, 4, 1, MAX_BATCHES),
        price_change_pct=_number(raw, "price_change_pct", float, 0.0, -90, 500),
        elasticity=_number(raw, "elasticity", float, -1.2, -10, 10),
        promo_uplift_pct=_number(raw, "promo_uplift_pct", float, 0.0, -100, 1000),
        store_change=_number(raw, "store_change", int, 0, -10_000, 10_000),
        target=_number(raw, "target", float, None, 0, 1e15),
        name=name,
    )


def check_segment(db: Database, scenario: Scenario) -> None:
    """Every segment value must exist in the data; the error lists the closest valid ones."""
    for key, value in scenario.segment.items():
        if key == "role" and not db.table_exists("ref", "transaction_personas"):
            raise InvalidInput("segment role needs persona inference first (scout personas infer)")
        valid = [str(r[0]) for r in db.query(SEGMENT_KEYS[key])]
        if text_key(value) not in {text_key(v) for v in valid}:
            close = difflib.get_close_matches(value, valid, n=3, cutoff=0.5) or sorted(valid)[:5]
            raise InvalidInput(f"unknown {key} {value!r}; did you mean: {', '.join(close)}")


def segment_filter(scenario: Scenario) -> tuple[str, list[Any]]:
    clauses, params = [], []
    seg = scenario.segment
    if "region" in seg:
        clauses.append("UPPER(RTRIM(s.region)) = UPPER(RTRIM(?))")
        params.append(seg["region"])
    if "store" in seg:
        clauses.append("CAST(t.store_id AS NVARCHAR(20)) = RTRIM(?)")
        params.append(seg["store"])
    for key in ("brand", "category"):
        if key in seg:
            clauses.append(
                f"EXISTS (SELECT 1 FROM dbo.TransactionItems AS i WHERE i.canonical_tx_id = t.canonical_tx_id "
                f"AND UPPER(RTRIM(i.{key})) = UPPER(RTRIM(?)))"
            )
            params.append(seg[key])
    if "role" in seg:
        clauses.append(
            "EXISTS (SELECT 1 FROM ref.transaction_personas AS p WHERE p.canonical_tx_id = t.canonical_tx_id "
            "AND UPPER(RTRIM(p.role)) = UPPER(RTRIM(?)))"
        )
        params.append(seg["role"])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def active_span_counts(day_index: np.ndarray) -> np.ndarray:
    """Transactions per day from the first to the last day with one (zero days inside kept)."""
    first = int(day_index.min())
    return np.bincount(day_index - first, minlength=int(day_index.max()) - first + 1).astype(np.float64)


def load_history(db: Database, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(daily counts over the segment's active span, basket values, basket units, stores in segment).

    The active span runs from the segment's first to its last day with a sale; days without a sale
    inside it count as zero. Padding to the whole data span instead would bias the mean of a store or
    brand that started (or stopped) mid-period and fake over-dispersion with its leading zeros.
    """
    where, params = segment_filter(scenario)
    span = db.query_one("SELECT MIN(CAST(txn_ts AS DATE)), MAX(CAST(txn_ts AS DATE)) FROM dbo.Transactions")
    if not span or span[0] is None:
        raise InvalidInput("no transaction history: run scout demo seed or load the source tables")
    import pyarrow as pa

    batches = list(
        db.stream_arrow(
            "SELECT DATEDIFF(day, ?, CAST(t.txn_ts AS DATE)) AS day_index, CAST(t.total_amount AS FLOAT) AS amount, "
            f"CAST(t.total_items AS FLOAT) AS items FROM dbo.Transactions AS t JOIN dbo.Stores AS s ON s.store_id = t.store_id{where}",
            [span[0], *params],
            schema=pa.schema([("day_index", pa.int64()), ("amount", pa.float64()), ("items", pa.float64())]),
        )
    )
    table = pa.Table.from_batches(batches) if batches else None
    if table is None or table.num_rows == 0:
        raise InvalidInput(f"the segment {scenario.segment or 'all'} has no transaction history")
    counts = active_span_counts(table.column("day_index").to_numpy())
    return counts, table.column("amount").to_numpy(), table.column("items").to_numpy(), stores_in_segment(db, scenario)


def stores_in_segment(db: Database, scenario: Scenario) -> int:
    """Stores of the segment's region or store (all stores otherwise): the base of the store-change lever."""
    stores_sql = "SELECT COUNT(DISTINCT s.store_id) FROM dbo.Stores AS s"
    store_where, store_params = [], []
    if "region" in scenario.segment:
        store_where.append("UPPER(RTRIM(s.region)) = UPPER(RTRIM(?))")
        store_params.append(scenario.segment["region"])
    if "store" in scenario.segment:
        store_where.append("CAST(s.store_id AS NVARCHAR(20)) = RTRIM(?)")
        store_params.append(scenario.segment["store"])
    row = db.query_one(stores_sql + (" WHERE " + " AND ".join(store_where) if store_where else ""), store_params)
    return int(row[0]) if row else 0


# -- the segment's history as moments, from gold when gold covers it ------------------------------------


@dataclass(frozen=True)
class SegmentHistory:
    """What the model needs of a segment's history: daily counts over its active span, and the mean and
    (population) variance of basket value and basket size. ``source``: ``gold`` or ``raw``."""

    daily_counts: np.ndarray
    basket_mean: float
    basket_var: float
    units_mean: float
    units_var: float
    transactions: int
    stores: int
    source: str


#: One segment key (or none: all) that gold's ingestion aggregates hold; a persona role, or several keys at
#: once, are read raw.
GOLD_DIMENSIONS = ("region", "store", "brand", "category")
_GOLD_DAYS = (
    "SELECT sales_date, transactions, basket_value, basket_value_sq, basket_units, basket_units_sq "
    "FROM gold.daily_sales WHERE source_name = N'ingestion' AND dimension = ? AND member_key = {member} "
    "ORDER BY sales_date"
)


def history_from_gold(db: Database, scenario: Scenario) -> SegmentHistory | None:
    """The segment's history from gold's daily aggregates (a few hundred rows instead of every transaction),
    or None when gold cannot answer: not migrated, not refreshed since the last ingestion, or a segment it
    does not aggregate. The moments are computed exactly from the sums (DECIMAL), so they equal the raw
    ones to the last bits a float can differ by."""
    from fractions import Fraction

    segment = scenario.segment
    if len(segment) > 1 or (segment and next(iter(segment)) not in GOLD_DIMENSIONS):
        return None
    if not db.table_exists("gold", "refresh_watermarks"):
        return None
    from scout.medallion.gold import covers_ingestion

    if not covers_ingestion(db):
        return None
    dimension, member = next(iter(segment.items())) if segment else ("all", "ALL")
    rows = db.query(
        _GOLD_DAYS.format(member="RTRIM(?)" if dimension == "store" else "UPPER(RTRIM(?))"), (dimension, member)
    )
    rows = [r for r in rows if r[1]]
    if not rows:
        raise InvalidInput(f"the segment {segment or 'all'} has no transaction history")
    first = rows[0][0]
    counts = np.zeros((rows[-1][0] - first).days + 1, dtype=np.float64)
    n, s1, s2, u1, u2 = 0, Fraction(0), Fraction(0), Fraction(0), Fraction(0)
    for day, transactions, value, value_sq, units, units_sq in rows:
        counts[(day - first).days] = transactions
        n += int(transactions)
        s1 += Fraction(value)
        s2 += Fraction(value_sq)
        u1 += Fraction(int(units))
        u2 += Fraction(int(units_sq))
    value_mean, units_mean = s1 / n, u1 / n
    return SegmentHistory(
        daily_counts=counts,
        basket_mean=float(value_mean),
        basket_var=float(s2 / n - value_mean * value_mean),
        units_mean=float(units_mean),
        units_var=float(u2 / n - units_mean * units_mean),
        transactions=n,
        stores=stores_in_segment(db, scenario),
        source="gold",
    )


def history_from_raw(db: Database, scenario: Scenario) -> SegmentHistory:
    counts, values, units, stores = load_history(db, scenario)
    return SegmentHistory(
        daily_counts=counts,
        basket_mean=float(np.mean(values)),
        basket_var=float(np.var(values)),
        units_mean=float(np.mean(units)),
        units_var=float(np.var(units)),
        transactions=int(len(values)),
        stores=stores,
        source="raw",
    )


def segment_history(db: Database, scenario: Scenario) -> SegmentHistory:
    """From gold when gold covers the segment and the data (``scout medallion refresh``), else raw."""
    return history_from_gold(db, scenario) or history_from_raw(db, scenario)


def fit_history(history: SegmentHistory, scenario: Scenario) -> Fitted:
    """``model.fit`` on the history's moments (the same levers, the same formulas)."""
    from scout.montecarlo import model

    return model.fit_moments(
        history.daily_counts,
        basket_mean=history.basket_mean,
        basket_var=history.basket_var,
        units_mean=history.units_mean,
        units_var=history.units_var,
        transactions=history.transactions,
        stores=history.stores,
        price_change_pct=scenario.price_change_pct,
        elasticity=scenario.elasticity,
        promo_uplift_pct=scenario.promo_uplift_pct,
        store_change=scenario.store_change,
    )
