"""Factors F1–F28 of a segment over a period, each with n, a 95 % interval, its method and a status.

The catalogue (``CATALOGUE``) is the documentation's and ``results.factor_definitions``' source. The
data of a topic's two periods (the last ``days`` days of data and the ``days`` before) is read with two
set-based statements (transactions; item lines per transaction, brand and category); everything else is
numpy on those arrays (``compute``), so one read serves the segment and its parent.

Segments: ``all`` or one of region, store, brand, category, role (a persona). A brand or category
segment's revenue and units are its own item lines in the transactions that hold them; the other
segments' are the whole transaction. Parents: brand → the category with most of the brand's revenue
in the period; category, region, store, role → all; all has none.

Sampling units of the bootstrap: a store-day with a sale of the segment (transactions of one store on
one day share the day's conditions, so they are resampled together); F7 counts stores as observed;
F20 resamples days; F8 and F25 resample the parent's store-days.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from scout.db.base import Database
from scout.db.collation import key as text_key
from scout.errors import InvalidInput
from scout.results import intervals as iv

PERIOD_DAYS = 28
OK, INSUFFICIENT = "ok", "insufficient_data"
WILSON, NEWCOMBE, BOOTSTRAP, EXACT = "wilson", "newcombe", "bootstrap_bca", "exact"
#: Fewest sampling units a bootstrap interval is drawn from.
MIN_UNITS = 5


@dataclass(frozen=True)
class FactorDefinition:
    factor_id: str
    name: str
    formula: str
    method: str
    min_n: int
    n_counts: str  # what n counts
    results_segment: str  # the dashboard segment that shows it


CATALOGUE: tuple[FactorDefinition, ...] = (
    FactorDefinition(
        "F1", "revenue", "sum of transaction value in the period", BOOTSTRAP, 30, "transactions", "Market"
    ),
    FactorDefinition(
        "F2",
        "revenue growth",
        "(F1 - F1 of the previous period) / F1 of the previous period",
        BOOTSTRAP,
        30,
        "transactions (smaller period)",
        "Market",
    ),
    FactorDefinition(
        "F3", "transactions", "count of transactions in the period", BOOTSTRAP, 30, "transactions", "Market"
    ),
    FactorDefinition("F4", "spend per trip", "F1 / F3", BOOTSTRAP, 30, "transactions", "Market"),
    FactorDefinition("F5", "basket size", "mean items per transaction", BOOTSTRAP, 30, "transactions", "Product"),
    FactorDefinition(
        "F6",
        "store penetration",
        "share of the parent's active stores (any sale in the period) with at least one sale of the segment",
        WILSON,
        5,
        "parent's active stores",
        "Market",
    ),
    FactorDefinition(
        "F7",
        "frequency",
        "transactions per active store per 7 days: F3 / active stores / (days / 7)",
        BOOTSTRAP,
        30,
        "transactions",
        "Consumer",
    ),
    FactorDefinition(
        "F8",
        "share of parent",
        "the segment's revenue / its parent's revenue (brand -> its category; category, region, store, role -> all)",
        BOOTSTRAP,
        30,
        "parent's transactions",
        "Brand",
    ),
    FactorDefinition(
        "F9",
        "substitution rate",
        "transactions with a substitution event / transactions with any substitution record",
        WILSON,
        30,
        "transactions with a substitution record",
        "Experience",
    ),
    FactorDefinition(
        "F10",
        "weekend share",
        "share of the segment's transactions on Saturday or Sunday",
        WILSON,
        30,
        "transactions",
        "Consumer",
    ),
    FactorDefinition("F11", "price per unit", "F1 / units sold", BOOTSTRAP, 30, "transactions", "Product"),
    FactorDefinition(
        "F12",
        "brand concentration (HHI)",
        "sum of squared brand revenue shares within the segment (a brand: within its category), 0-1",
        BOOTSTRAP,
        50,
        "transactions with a branded line",
        "Brand",
    ),
    FactorDefinition(
        "F13", "morning share", "share of transactions from 05:00 to 11:59", WILSON, 30, "transactions", "Consumer"
    ),
    FactorDefinition(
        "F14", "afternoon share", "share of transactions from 12:00 to 17:59", WILSON, 30, "transactions", "Consumer"
    ),
    FactorDefinition(
        "F15", "evening share", "share of transactions from 18:00 to 22:59", WILSON, 30, "transactions", "Consumer"
    ),
    FactorDefinition(
        "F16", "night share", "share of transactions from 23:00 to 04:59", WILSON, 30, "transactions", "Consumer"
    ),
    FactorDefinition(
        "F17",
        "transaction growth",
        "(F3 - F3 of the previous period) / F3 of the previous period",
        BOOTSTRAP,
        30,
        "transactions (smaller period)",
        "Market",
    ),
    FactorDefinition(
        "F18",
        "spend per trip growth",
        "F4 / F4 of the previous period - 1",
        BOOTSTRAP,
        30,
        "transactions (smaller period)",
        "Market",
    ),
    FactorDefinition(
        "F19",
        "basket size growth",
        "F5 / F5 of the previous period - 1",
        BOOTSTRAP,
        30,
        "transactions (smaller period)",
        "Product",
    ),
    FactorDefinition(
        "F20",
        "revenue volatility",
        "coefficient of variation of daily revenue over the period's days (zero days count)",
        BOOTSTRAP,
        14,
        "days with a sale",
        "Market",
    ),
    FactorDefinition(
        "F21",
        "repeat-store rate",
        "share of the segment's stores active in the previous period that sell it again",
        WILSON,
        5,
        "stores active in the previous period",
        "Market",
    ),
    FactorDefinition(
        "F22",
        "leading brand share",
        "revenue share of the largest brand within the segment (a brand: within its category)",
        BOOTSTRAP,
        50,
        "transactions with a branded line",
        "Brand",
    ),
    FactorDefinition(
        "F23",
        "substitution incidence",
        "transactions with a substitution event / all transactions",
        WILSON,
        30,
        "transactions",
        "Experience",
    ),
    FactorDefinition(
        "F24",
        "persona concentration (HHI)",
        "sum of squared persona shares of transactions, 0-1",
        BOOTSTRAP,
        50,
        "transactions with a persona",
        "Consumer",
    ),
    FactorDefinition(
        "F25",
        "share of parent change",
        "F8 - F8 of the previous period (share points)",
        BOOTSTRAP,
        30,
        "parent's transactions (smaller period)",
        "Brand",
    ),
    FactorDefinition(
        "F26",
        "weekend spend premium",
        "weekend spend per trip / weekday spend per trip - 1",
        BOOTSTRAP,
        30,
        "transactions (smaller of weekend, weekday)",
        "Consumer",
    ),
    FactorDefinition(
        "F27",
        "single-item basket share",
        "share of transactions with exactly one item (tingi buying)",
        WILSON,
        30,
        "transactions",
        "Product",
    ),
    FactorDefinition(
        "F28",
        "store penetration change",
        "F6 - F6 of the previous period (share points)",
        NEWCOMBE,
        5,
        "parent's active stores (smaller period)",
        "Market",
    ),
)
BY_ID = {d.factor_id: d for d in CATALOGUE}
#: Not shrunk: factors relative to the parent (the parent's own value is not a prior for them) and totals
#: (a segment's revenue or transaction count is not like its parent's).
NOT_SHRUNK = frozenset({"F1", "F3", "F6", "F8", "F21", "F25", "F28"})


@dataclass
class FactorValue:
    id: str
    name: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    method: str
    status: str
    shrunk_value: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the topic's data ---------------------------------------------------------------------------------------

_SPAN = "SELECT MIN(CAST(txn_ts AS DATE)), MAX(CAST(txn_ts AS DATE)) FROM dbo.Transactions"
#: One row per transaction of the two periods; substitution records aggregated to one row per
#: transaction first (v_insight_base has zero or more rows per transaction: no fan-out).
_TRANSACTIONS = (
    "SELECT t.canonical_tx_id, DATEDIFF(day, ?, CAST(t.txn_ts AS DATE)) AS day_index, t.store_id, "
    "UPPER(RTRIM(s.region)) AS region_key, CAST(t.total_amount AS FLOAT) AS amount, "
    "CAST(t.total_items AS FLOAT) AS items, DATEPART(hour, t.txn_ts) AS hour_of_day, "
    "CASE WHEN x.sessionId IS NULL THEN 0 ELSE 1 END AS sub_record, COALESCE(x.sub_event, 0) AS sub_event{role} "
    "FROM dbo.Transactions AS t JOIN dbo.Stores AS s ON s.store_id = t.store_id "
    "LEFT JOIN (SELECT sessionId, MAX(CASE WHEN substitution_event = '1' THEN 1 ELSE 0 END) AS sub_event "
    "FROM dbo.v_insight_base GROUP BY sessionId) AS x ON x.sessionId = t.canonical_tx_id{role_join} "
    "WHERE t.txn_ts >= ? AND t.txn_ts < ?"
)
_ROLE = ", UPPER(RTRIM(p.[role])) AS role_key"
_ROLE_JOIN = " LEFT JOIN [ref].transaction_personas AS p ON p.canonical_tx_id = t.canonical_tx_id"
#: Item lines summed per transaction, brand and category (keys as Azure SQL's collation groups them).
_LINES = (
    "SELECT t.canonical_tx_id, UPPER(RTRIM(i.brand)) AS brand_key, "
    "MIN(RTRIM(i.brand) COLLATE Latin1_General_100_BIN2) AS brand_name, UPPER(RTRIM(i.category)) AS category_key, "
    "MIN(RTRIM(i.category) COLLATE Latin1_General_100_BIN2) AS category_name, "
    "SUM(CAST(i.quantity * i.unit_price AS FLOAT)) AS revenue, SUM(CAST(i.quantity AS FLOAT)) AS units "
    "FROM dbo.TransactionItems AS i JOIN dbo.Transactions AS t ON t.canonical_tx_id = i.canonical_tx_id "
    "WHERE t.txn_ts >= ? AND t.txn_ts < ? "
    "GROUP BY t.canonical_tx_id, UPPER(RTRIM(i.brand)), UPPER(RTRIM(i.category))"
)


def _codes(values: Any) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for NULL) and the distinct keys, sorted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    keys = sorted(str(v) for v in pc.unique(array).to_pylist() if v is not None)
    codes = pc.index_in(array, value_set=pa.array(keys, type=pa.string())).to_numpy(zero_copy_only=False)
    return np.where(np.isnan(codes.astype(float)), -1, codes).astype(np.int64), keys


@dataclass
class TopicData:
    """The transactions and item lines of the two periods, as arrays (day 0 = first day of the previous period)."""

    start: date  # first day of the previous period
    days: int
    first_day: date  # first day with any data
    last_day: date
    day: np.ndarray
    store: np.ndarray
    region: np.ndarray
    amount: np.ndarray
    items: np.ndarray
    hour: np.ndarray
    sub_record: np.ndarray
    sub_event: np.ndarray
    role: np.ndarray
    line_tx: np.ndarray
    line_brand: np.ndarray
    line_category: np.ndarray
    line_revenue: np.ndarray
    line_units: np.ndarray
    regions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    brand_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    category_names: list[str] = field(default_factory=list)

    @property
    def previous_covered(self) -> bool:
        """Whether the data reaches back to the previous period's first day (else growth is not comparable)."""
        return self.first_day <= self.start

    @property
    def weekend(self) -> np.ndarray:
        return (self.start.weekday() + self.day) % 7 >= 5

    def period(self, current: bool) -> tuple[date, date]:
        first = self.start + timedelta(days=self.days if current else 0)
        return first, first + timedelta(days=self.days - 1)


def _shown_names(lines: Any, what: str) -> dict[str, str]:
    """Key → the binary-smallest spelling of each brand or category (as Azure SQL's collation groups them)."""
    shown = lines.group_by(f"{what}_key").aggregate([(f"{what}_name", "min")])
    return dict(zip(shown.column(f"{what}_key").to_pylist(), shown.column(f"{what}_name_min").to_pylist()))


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def load_topic_data(db: Database, days: int = PERIOD_DAYS) -> TopicData:
    """Both periods of the whole database's data (the last ``days`` days of data and the ``days`` before)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not 1 <= days <= 366:
        raise InvalidInput("days must be from 1 to 366")
    span = db.query_one(_SPAN)
    if not span or span[0] is None:
        raise InvalidInput("no transaction history: run scout demo seed or load the source tables")
    first_day, last_day = _as_date(span[0]), _as_date(span[1])
    start = last_day - timedelta(days=2 * days - 1)
    lo = datetime(start.year, start.month, start.day)
    hi = datetime(last_day.year, last_day.month, last_day.day) + timedelta(days=1)
    with_roles = db.table_exists("ref", "transaction_personas")
    sql = _TRANSACTIONS.format(role=_ROLE if with_roles else "", role_join=_ROLE_JOIN if with_roles else "")
    tx = pa.Table.from_batches(list(db.stream_arrow(sql, [lo, lo, hi])))
    lines = pa.Table.from_batches(list(db.stream_arrow(_LINES, [lo, hi])))
    if tx.num_rows == 0:
        raise InvalidInput("no transactions in the periods")

    def num(table: pa.Table, name: str, kind: type = float) -> np.ndarray:
        return np.asarray(pc.fill_null(table.column(name), 0).to_numpy(), dtype=kind)

    region, regions = _codes(tx.column("region_key"))
    role, roles = _codes(tx.column("role_key")) if with_roles else (np.full(tx.num_rows, -1, np.int64), [])
    if lines.num_rows:
        tx_of_line = pc.index_in(
            lines.column("canonical_tx_id"), value_set=tx.column("canonical_tx_id").combine_chunks()
        )
        line_tx = np.asarray(pc.fill_null(tx_of_line, -1).to_numpy(), dtype=np.int64)
        brand, brands = _codes(lines.column("brand_key"))
        category, categories = _codes(lines.column("category_key"))
        names = _shown_names(lines, "brand")
        category_names = _shown_names(lines, "category")
        keep = line_tx >= 0
        revenue, units = num(lines, "revenue")[keep], num(lines, "units")[keep]
        line_tx, brand, category = line_tx[keep], brand[keep], category[keep]
    else:
        line_tx = brand = category = np.zeros(0, np.int64)
        revenue = units = np.zeros(0)
        brands, categories, names, category_names = [], [], {}, {}
    return TopicData(
        start=start,
        days=days,
        first_day=first_day,
        last_day=last_day,
        day=num(tx, "day_index", np.int64),
        store=num(tx, "store_id", np.int64),
        region=region,
        amount=num(tx, "amount"),
        items=num(tx, "items"),
        hour=num(tx, "hour_of_day", np.int64),
        sub_record=num(tx, "sub_record", np.int64),
        sub_event=num(tx, "sub_event", np.int64),
        role=role,
        line_tx=line_tx,
        line_brand=brand,
        line_category=category,
        line_revenue=revenue,
        line_units=units,
        regions=regions,
        roles=roles,
        brands=brands,
        brand_names=[names.get(b, b) for b in brands],
        categories=categories,
        category_names=[category_names.get(c, c) for c in categories],
    )


# -- segments -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A segment over the topic's data: which transactions, and which of their item lines (brand, category)."""

    key: str  # all | region | store | brand | category | role
    value: str | None
    member: np.ndarray  # (transactions,) bool
    line_mask: np.ndarray | None  # (lines,) bool: the segment's own lines; None = whole transactions

    @property
    def label(self) -> str:
        return "all" if self.key == "all" else f"{self.key}:{self.value}"


def _line_selection(data: TopicData, key: str, value: str, line_mask: np.ndarray) -> Selection:
    member = np.zeros(data.day.size, bool)
    member[data.line_tx[line_mask]] = True
    return Selection(key, value, member, line_mask)


def select(data: TopicData, key: str, value: str | None) -> Selection:
    """The segment ``key`` = ``value`` (compared as Azure SQL's collation compares text)."""
    if key == "all":
        return Selection("all", None, np.ones(data.day.size, bool), None)
    wanted = text_key(value or "") or ""
    if key == "region":
        code = data.regions.index(wanted) if wanted in data.regions else -2
        return Selection(key, value, data.region == code, None)
    if key == "store":
        try:
            store = int(wanted)
        except ValueError:
            raise InvalidInput(f"unknown store {value!r}") from None
        return Selection(key, value, data.store == store, None)
    if key == "role":
        code = data.roles.index(wanted) if wanted in data.roles else -2
        return Selection(key, value, data.role == code, None)
    if key in ("brand", "category"):
        keys, names = (data.brands, data.brand_names) if key == "brand" else (data.categories, data.category_names)
        code = keys.index(wanted) if wanted in keys else -2
        shown = names[code] if code >= 0 else (value or "").strip()
        return _line_selection(data, key, shown, (data.line_brand if key == "brand" else data.line_category) == code)
    raise InvalidInput(f"unknown segment key {key!r}")


def parent_of(data: TopicData, selection: Selection) -> Selection | None:
    """brand → the category with most of its revenue in the current period; others → all; all → none."""
    if selection.key == "all":
        return None
    if selection.key == "brand" and selection.line_mask is not None:
        current = selection.line_mask & (data.day[data.line_tx] >= data.days) & (data.line_category >= 0)
        if not current.any():
            current = selection.line_mask & (data.line_category >= 0)
        if current.any():
            by_category = np.bincount(
                data.line_category[current], weights=data.line_revenue[current], minlength=len(data.categories)
            )
            category = data.categories[int(np.argmax(by_category))]
            return select(data, "category", category)
    return select(data, "all", None)


# -- per-period views -----------------------------------------------------------------------------------------


@dataclass
class View:
    """A selection's transactions in one period, with what the factors need."""

    tx: np.ndarray  # indices into the topic's transactions
    revenue: np.ndarray  # per transaction: the segment's value
    units: np.ndarray
    lines: np.ndarray  # indices into the topic's lines (the segment's own lines in the period)
    cell: np.ndarray  # per transaction: its store-day
    cells: int

    @property
    def n(self) -> int:
        return int(self.tx.size)


def view(data: TopicData, selection: Selection, current: bool, line_filter: np.ndarray | None = None) -> View:
    in_period = (data.day >= data.days) if current else (data.day < data.days)
    tx = np.flatnonzero(selection.member & in_period)
    mask = selection.line_mask if line_filter is None else line_filter
    if mask is None:
        revenue, units = data.amount[tx], data.items[tx]
        lines = np.flatnonzero(in_period[data.line_tx])
        lines = lines[selection.member[data.line_tx[lines]]]
    else:
        lines = np.flatnonzero(mask & in_period[data.line_tx])
        position = np.full(data.day.size, -1, np.int64)
        position[tx] = np.arange(tx.size)
        at = position[data.line_tx[lines]]
        revenue = np.bincount(at, weights=data.line_revenue[lines], minlength=tx.size)
        units = np.bincount(at, weights=data.line_units[lines], minlength=tx.size)
    keys = data.store[tx] * (2 * data.days) + data.day[tx]
    _, cell = np.unique(keys, return_inverse=True)
    return View(tx, revenue, units, lines, cell.ravel(), int(cell.max()) + 1 if tx.size else 0)


def _cell_sum(v: View, weights: np.ndarray) -> np.ndarray:
    return np.bincount(v.cell, weights=weights, minlength=v.cells)


def _cell_columns(data: TopicData, v: View) -> dict[str, np.ndarray]:
    weekend = data.weekend[v.tx]
    one = np.ones(v.n)
    return {
        "rev": _cell_sum(v, v.revenue),
        "tx": _cell_sum(v, one),
        "items": _cell_sum(v, data.items[v.tx]),
        "units": _cell_sum(v, v.units),
        "we_tx": _cell_sum(v, weekend * 1.0),
        "we_rev": _cell_sum(v, v.revenue * weekend),
        "wd_tx": _cell_sum(v, ~weekend * 1.0),
        "wd_rev": _cell_sum(v, v.revenue * ~weekend),
    }


def _matrix(v: View, row_cell: np.ndarray, code: np.ndarray, width: int, weights: np.ndarray) -> np.ndarray:
    keep = code >= 0
    flat = np.bincount(row_cell[keep] * width + code[keep], weights=weights[keep], minlength=v.cells * width)
    return flat.reshape(v.cells, width)


def _brand_matrix(data: TopicData, v: View) -> np.ndarray:
    position = np.full(data.day.size, -1, np.int64)
    position[v.tx] = v.cell
    row_cell = position[data.line_tx[v.lines]]
    width = max(len(data.brands), 1)
    return _matrix(v, row_cell, data.line_brand[v.lines], width, data.line_revenue[v.lines])


def _role_matrix(data: TopicData, v: View) -> np.ndarray:
    width = max(len(data.roles), 1)
    return _matrix(v, v.cell, data.role[v.tx], width, np.ones(v.n))


def _rng(label: str, part: str) -> np.random.Generator:
    """A generator fixed by the segment and the sample: the same data gives the same intervals, in any order."""
    import zlib

    return np.random.default_rng([iv.BOOTSTRAP_SEED, zlib.crc32(f"{label}|{part}".encode())])


# -- statistics over unit totals ----------------------------------------------------------------------------


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)


def _hhi(matrix: np.ndarray) -> np.ndarray:
    total = matrix.sum(axis=-1)
    shares = _div(matrix, total[..., None])
    return np.sum(shares**2, axis=-1)


def _top_share(matrix: np.ndarray) -> np.ndarray:
    return _div(matrix.max(axis=-1), matrix.sum(axis=-1))


def _cv(t: iv.Totals) -> np.ndarray:
    mean = _div(t["x"], t["one"])
    var = _div(t["x2"] - t["x"] * mean, t["one"] - 1)
    return _div(np.sqrt(np.maximum(var, 0)), mean)


# -- computing -------------------------------------------------------------------------------------------------


def _result(d: FactorDefinition, value: float, lo: float, hi: float, n: int, method: str | None = None) -> FactorValue:
    if not all(math.isfinite(x) for x in (value, lo, hi)):
        return _insufficient(d, n, "the interval is undefined for these data")
    return FactorValue(d.factor_id, d.name, float(value), int(n), float(lo), float(hi), method or d.method, OK)


def _insufficient(d: FactorDefinition, n: int, note: str) -> FactorValue:
    return FactorValue(d.factor_id, d.name, None, int(n), None, None, d.method, INSUFFICIENT, None, note)


class _Computation:
    """Every factor of one selection (its parent given), from the topic's arrays."""

    def __init__(self, data: TopicData, selection: Selection, parent: Selection | None, resamples: int) -> None:
        self.data, self.sel, self.parent, self.resamples = data, selection, parent, resamples
        self.cur, self.prev = view(data, selection, True), view(data, selection, False)
        self.cells_cur = iv.make_sample(self._columns(self.cur), _rng(selection.label, "cur"), resamples)
        self.cells_prev = (
            iv.make_sample(self._columns(self.prev), _rng(selection.label, "prev"), resamples) if self.prev.n else None
        )
        self.out: dict[str, FactorValue] = {}

    def _columns(self, v: View) -> dict[str, np.ndarray]:
        cols = _cell_columns(self.data, v)
        cols["role"] = _role_matrix(self.data, v)
        return cols

    def _too_little(self, fid: str, n: int, comparison: bool) -> bool:
        """Records ``insufficient_data`` (and says so) when n is below the factor's minimum, or a comparison's
        previous period is not wholly in the data."""
        d = BY_ID[fid]
        if n < d.min_n:
            self.out[fid] = _insufficient(d, n, f"n = {n} is below the minimum {d.min_n}")
        elif comparison and not self.data.previous_covered:
            self.out[fid] = _insufficient(d, n, "the data does not cover the whole previous period")
        else:
            return False
        return True

    def boot(self, fid: str, stat: iv.Statistic, n: int, *, comparison: bool = False) -> None:
        if self._too_little(fid, n, comparison):
            return
        d = BY_ID[fid]
        prev = self.cells_prev if comparison else None
        if self.cells_cur.units < MIN_UNITS or (comparison and (prev is None or prev.units < MIN_UNITS)):
            self.out[fid] = _insufficient(d, n, f"fewer than {MIN_UNITS} store-days to resample")
            return
        self.out[fid] = _result(d, *iv.bca(stat, self.cells_cur, prev), n)

    def wilson(self, fid: str, x: int, n: int, *, comparison: bool = False) -> None:
        if self._too_little(fid, n, comparison):
            return
        d = BY_ID[fid]
        lo, hi = iv.wilson(x, n)
        self.out[fid] = _result(d, x / n, float(lo), float(hi), n)

    def run(self) -> dict[str, FactorValue]:
        data, cur, prev = self.data, self.cur, self.prev
        n_cur, n_both = cur.n, min(cur.n, prev.n)
        self.boot("F1", lambda c, p: c["rev"], n_cur)
        self.boot("F2", lambda c, p: _div(c["rev"], p["rev"]) - 1, n_both, comparison=True)
        self.boot("F3", lambda c, p: c["tx"], n_cur)
        self.boot("F4", lambda c, p: _div(c["rev"], c["tx"]), n_cur)
        self.boot("F5", lambda c, p: _div(c["items"], c["tx"]), n_cur)
        self._penetration()
        stores = int(np.unique(data.store[cur.tx]).size)
        self.boot("F7", lambda c, p: c["tx"] / max(stores, 1) * 7 / data.days, n_cur)
        self._share_of_parent()
        with_record = data.sub_record[cur.tx] == 1
        self.wilson("F9", int(data.sub_event[cur.tx][with_record].sum()), int(with_record.sum()))
        self.wilson("F10", int(data.weekend[cur.tx].sum()), n_cur)
        self.boot("F11", lambda c, p: _div(c["rev"], c["units"]), n_cur)
        self._brands()
        hours = data.hour[cur.tx]
        for fid, (lo, hi) in {"F13": (5, 11), "F14": (12, 17), "F15": (18, 22)}.items():
            self.wilson(fid, int(((hours >= lo) & (hours <= hi)).sum()), n_cur)
        self.wilson("F16", int(((hours >= 23) | (hours <= 4)).sum()), n_cur)
        self.boot("F17", lambda c, p: _div(c["tx"], p["tx"]) - 1, n_both, comparison=True)
        self.boot(
            "F18", lambda c, p: _div(_div(c["rev"], c["tx"]), _div(p["rev"], p["tx"])) - 1, n_both, comparison=True
        )
        self.boot(
            "F19", lambda c, p: _div(_div(c["items"], c["tx"]), _div(p["items"], p["tx"])) - 1, n_both, comparison=True
        )
        self._volatility()
        self._retention()
        self.wilson("F23", int(data.sub_event[cur.tx].sum()), n_cur)
        with_role = int((data.role[cur.tx] >= 0).sum())
        self.boot("F24", lambda c, p: _hhi(c["role"]), with_role)
        self.boot(
            "F26",
            lambda c, p: _div(_div(c["we_rev"], c["we_tx"]), _div(c["wd_rev"], c["wd_tx"])) - 1,
            int(min(data.weekend[cur.tx].sum(), (~data.weekend[cur.tx]).sum())),
        )
        self.wilson("F27", int((data.items[cur.tx] == 1).sum()), n_cur)
        return {d.factor_id: self.out[d.factor_id] for d in CATALOGUE}

    # parent-relative factors ---------------------------------------------------------------------------------

    def _active_stores(self, selection: Selection, current: bool) -> np.ndarray:
        in_period = (self.data.day >= self.data.days) if current else (self.data.day < self.data.days)
        return np.unique(self.data.store[selection.member & in_period])

    def _penetration(self) -> None:
        if self.parent is None:
            n = int(self._active_stores(self.sel, True).size)
            self.out["F6"] = _result(BY_ID["F6"], 1.0, 1.0, 1.0, n, EXACT)
            self.out["F28"] = _result(BY_ID["F28"], 0.0, 0.0, 0.0, n, EXACT)
            return
        counts = []
        for current in (True, False):
            parent_stores = self._active_stores(self.parent, current)
            own = np.intersect1d(self._active_stores(self.sel, current), parent_stores)
            counts.append((int(own.size), int(parent_stores.size)))
        (x1, n1), (x2, n2) = counts
        self.wilson("F6", x1, n1)
        n = min(n1, n2)
        if not self._too_little("F28", n, comparison=True):
            self.out["F28"] = _result(BY_ID["F28"], x1 / n1 - x2 / n2, *iv.newcombe(x1, n1, x2, n2), n)

    def _retention(self) -> None:
        before = self._active_stores(self.sel, False)
        again = np.intersect1d(before, self._active_stores(self.sel, True))
        self.wilson("F21", int(again.size), int(before.size), comparison=True)

    def _parent_sample(self, current: bool) -> tuple[iv.Sample, int]:
        """The parent's store-days with the parent's revenue and the segment's revenue within it."""
        assert self.parent is not None
        data = self.data
        whole = view(data, self.parent, current)
        if self.sel.line_mask is None:
            own = self.sel.member[whole.tx] * whole.revenue
        else:
            lines = self.sel.line_mask if self.parent.line_mask is None else self.sel.line_mask & self.parent.line_mask
            part = view(data, self.parent, current, line_filter=lines)
            own = part.revenue
        columns = {"seg": _cell_sum(whole, own), "par": _cell_sum(whole, whole.revenue)}
        part_name = "parent-cur" if current else "parent-prev"
        return iv.make_sample(columns, _rng(self.sel.label, part_name), self.resamples), whole.n

    def _share_of_parent(self) -> None:
        if self.parent is None:
            self.out["F8"] = _result(BY_ID["F8"], 1.0, 1.0, 1.0, self.cur.n, EXACT)
            self.out["F25"] = _result(BY_ID["F25"], 0.0, 0.0, 0.0, self.cur.n, EXACT)
            return
        cur, n_cur = self._parent_sample(True)
        self._boot_on("F8", lambda c, p: _div(c["seg"], c["par"]), cur, None, n_cur)
        prev, n_prev = self._parent_sample(False)
        self._boot_on(
            "F25",
            lambda c, p: _div(c["seg"], c["par"]) - _div(p["seg"], p["par"]),
            cur,
            prev,
            min(n_cur, n_prev),
        )

    def _boot_on(self, fid: str, stat: iv.Statistic, cur: iv.Sample, prev: iv.Sample | None, n: int) -> None:
        d = BY_ID[fid]
        if self._too_little(fid, n, comparison=prev is not None):
            return
        if cur.units < MIN_UNITS or (prev is not None and prev.units < MIN_UNITS):
            self.out[fid] = _insufficient(d, n, f"fewer than {MIN_UNITS} units to resample")
        else:
            self.out[fid] = _result(d, *iv.bca(stat, cur, prev), n)

    def _brands(self) -> None:
        """F12 and F22 over the segment's market: a brand's category, else the segment itself."""
        market = self.parent if (self.sel.key == "brand" and self.parent is not None) else self.sel
        v = self.cur if market is self.sel else view(self.data, market, True)
        matrix = _brand_matrix(self.data, v)
        branded = self.data.line_brand[v.lines] >= 0
        n = int(np.unique(self.data.line_tx[v.lines][branded]).size)
        sample = iv.make_sample({"brand": matrix}, _rng(market.label, "brands"), self.resamples)
        self._boot_on("F12", lambda c, p: _hhi(c["brand"]), sample, None, n)
        self._boot_on("F22", lambda c, p: _top_share(c["brand"]), sample, None, n)

    def _volatility(self) -> None:
        days = self.data.day[self.cur.tx] - self.data.days
        daily = np.bincount(days, weights=self.cur.revenue, minlength=self.data.days)
        n = int(np.count_nonzero(np.bincount(days, minlength=self.data.days)))
        sample = iv.make_sample(
            {"one": np.ones(self.data.days), "x": daily, "x2": daily**2}, _rng(self.sel.label, "days"), self.resamples
        )
        self._boot_on("F20", lambda c, p: _cv(c), sample, None, n)


#: Per-transaction numerator and denominator of the factors whose siblings give the prior spread τ² of
#: the empirical-Bayes shrinkage (ratios of sums; a proportion is one with 0/1 numerators).
def _sibling_parts(data: TopicData, tx: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    one = np.ones(tx.size)
    hours = data.hour[tx]
    return {
        "F4": (data.amount[tx], one),
        "F5": (data.items[tx], one),
        "F9": (data.sub_event[tx] * 1.0, data.sub_record[tx] * 1.0),
        "F10": (data.weekend[tx] * 1.0, one),
        "F11": (data.amount[tx], data.items[tx]),
        "F13": (((hours >= 5) & (hours <= 11)) * 1.0, one),
        "F14": (((hours >= 12) & (hours <= 17)) * 1.0, one),
        "F15": (((hours >= 18) & (hours <= 22)) * 1.0, one),
        "F16": (((hours >= 23) | (hours <= 4)) * 1.0, one),
        "F23": (data.sub_event[tx] * 1.0, one),
        "F27": ((data.items[tx] == 1) * 1.0, one),
    }


def sibling_spread(data: TopicData, key: str) -> dict[str, float]:
    """τ² per factor across the segments of ``key`` (every store, region or persona) in the current
    period: each sibling's ratio of sums with its linearised sampling variance Σ(y - r x)² / X²."""
    if key not in ("store", "region", "role"):
        return {}
    tx = np.flatnonzero(data.day >= data.days)
    group = {"store": data.store, "region": data.region, "role": data.role}[key][tx]
    tx, group = tx[group >= 0], group[group >= 0]
    if tx.size == 0:
        return {}
    _, g = np.unique(group, return_inverse=True)
    size = int(g.max()) + 1
    out = {}
    for fid, (y, x) in _sibling_parts(data, tx).items():
        big_y, big_x = np.bincount(g, y, size), np.bincount(g, x, size)
        ratio = _div(big_y, big_x)
        residual = np.bincount(g, (y - ratio[g] * x) ** 2, size)
        enough = big_x >= BY_ID[fid].min_n
        tau2 = iv.between_variance(ratio[enough], _div(residual, big_x**2)[enough])
        if tau2 is not None:
            out[fid] = tau2
    return out


def compute(
    data: TopicData,
    selection: Selection,
    parent: Selection | None = None,
    *,
    resamples: int = iv.BOOTSTRAP_RESAMPLES,
    parent_values: dict[str, FactorValue] | None = None,
    spread: dict[str, float] | None = None,
) -> dict[str, FactorValue]:
    """F1–F28 of ``selection`` (its parent given for the parent-relative factors), each with its interval;
    with ``parent_values``, a value shrunk toward the parent's next to the raw one (the prior spread
    from ``spread``, the siblings' τ², where given)."""
    values = _Computation(data, selection, parent, resamples).run()
    for fid, fv in values.items():
        if fv.status != OK or fid in NOT_SHRUNK:
            continue
        prior = parent_values.get(fid) if parent_values and fid not in NOT_SHRUNK else None
        prior_value = prior.value if prior is not None and prior.status == OK else None
        assert fv.value is not None and fv.ci_low is not None and fv.ci_high is not None
        fv.shrunk_value = iv.shrink(fv.value, fv.ci_low, fv.ci_high, prior_value, (spread or {}).get(fid))
    return values


@dataclass
class SegmentFactors:
    """A segment's factors and its parent's (patterns compare the two)."""

    topic: str
    parent_topic: str | None
    period: dict[str, str]
    factors: dict[str, FactorValue]
    parent: dict[str, FactorValue]


def segment_factors(
    data: TopicData, key: str, value: str | None, *, resamples: int = iv.BOOTSTRAP_RESAMPLES
) -> SegmentFactors:
    """The segment's factors (raw and shrunk toward its parent) and its parent's."""
    selection = select(data, key, value)
    if not selection.member.any():
        raise InvalidInput(f"the segment {selection.label} has no transactions in the periods")
    parent = parent_of(data, selection)
    parent_values: dict[str, FactorValue] = {}
    if parent is not None:
        grandparent = parent_of(data, parent)
        parent_values = compute(data, parent, grandparent, resamples=resamples)
    values = compute(
        data, selection, parent, resamples=resamples, parent_values=parent_values, spread=sibling_spread(data, key)
    )
    (c0, c1), (p0, p1) = data.period(True), data.period(False)
    period = {
        "current_start": c0.isoformat(),
        "current_end": c1.isoformat(),
        "previous_start": p0.isoformat(),
        "previous_end": p1.isoformat(),
    }
    return SegmentFactors(selection.label, parent.label if parent else None, period, values, parent_values)


def parse_topic(topic: str) -> tuple[str, str | None]:
    """``all`` or ``key:value`` (also ``key=value``) as (key, value)."""
    text = (topic or "").strip()
    if text.lower() == "all" or not text:
        return "all", None
    for sep in (":", "="):
        k, found, v = text.partition(sep)
        if found and k.strip() in ("region", "store", "brand", "category", "role") and v.strip():
            return k.strip(), v.strip()
    raise InvalidInput("segment must be 'all' or KEY=VALUE with KEY one of region, store, brand, category, role")
