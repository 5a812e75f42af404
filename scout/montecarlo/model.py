"""The Monte Carlo model, pure numpy (no I/O): fit from history, simulate chunks, summarise.

- Daily transaction counts (over the segment's active span, see ``scenario.load_history``): Poisson
  with the history's mean, or negative binomial (method of moments) when the history is
  over-dispersed (variance > 1.05 × mean).
- A day's revenue is the sum of its baskets: for k baskets with mean μ and variance σ², a Gamma
  with mean kμ and variance kσ² (exact when σ = 0, a close approximation otherwise; it never goes
  negative). Units likewise, from the basket sizes.
- Levers: a price change p with elasticity e multiplies basket value by (1 + p) and transactions
  by (1 + p)^e; a promotion uplift u multiplies transactions by (1 + u); a store-count change s
  multiplies them by (stores + s) / stores. A lever scales the *rate* and keeps the dispersion:
  Poisson(μ) becomes Poisson(μm); a negative binomial keeps its size r, so its variance becomes
  μm + (μm)²/r (scaling the variance by m² would turn a Poisson history into a negative binomial).
- Reproducible: iterations are cut into fixed chunks; chunk i draws from
  ``SeedSequence(entropy, spawn_key=(i,))``, so any split into batches gives identical numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CHUNK = 10_000  # iterations per random stream; fixed forever (changing it changes every result)
FAN_ITERATIONS = 5_000  # the daily fan is drawn from the first iterations (exact, reproducible)
PERCENTILES = (5, 25, 50, 75, 95)
HISTOGRAM_BINS = 30
OVER_DISPERSION = 1.05  # variance / mean above which counts are negative binomial, not Poisson


@dataclass(frozen=True)
class Fitted:
    """What the history says, after the levers: enough to simulate anywhere, with no database."""

    daily_mean: float
    daily_var: float
    basket_mean: float
    basket_var: float
    units_mean: float
    units_var: float
    days_observed: int
    transactions_observed: int

    @property
    def over_dispersed(self) -> bool:
        return self.daily_var > OVER_DISPERSION * self.daily_mean

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "distribution": "negative binomial" if self.over_dispersed else "poisson"}


def fit(
    daily_counts: np.ndarray,
    basket_values: np.ndarray,
    basket_units: np.ndarray,
    *,
    stores: int,
    price_change_pct: float = 0.0,
    elasticity: float = 0.0,
    promo_uplift_pct: float = 0.0,
    store_change: int = 0,
) -> Fitted:
    """Moments of the history with the levers applied (the count model's, as simulated)."""
    return fit_moments(
        daily_counts,
        basket_mean=float(np.mean(basket_values)),
        basket_var=float(np.var(basket_values)),
        units_mean=float(np.mean(basket_units)),
        units_var=float(np.var(basket_units)),
        transactions=int(len(basket_values)),
        stores=stores,
        price_change_pct=price_change_pct,
        elasticity=elasticity,
        promo_uplift_pct=promo_uplift_pct,
        store_change=store_change,
    )


def fit_moments(
    daily_counts: np.ndarray,
    *,
    basket_mean: float,
    basket_var: float,
    units_mean: float,
    units_var: float,
    transactions: int,
    stores: int,
    price_change_pct: float = 0.0,
    elasticity: float = 0.0,
    promo_uplift_pct: float = 0.0,
    store_change: int = 0,
) -> Fitted:
    """``fit`` from the baskets' moments rather than every basket (what gold's daily sums give)."""
    p = price_change_pct / 100.0
    demand = (1 + p) ** elasticity * (1 + promo_uplift_pct / 100.0) * max(stores + store_change, 0) / max(stores, 1)
    mean, var = scaled_counts(float(np.mean(daily_counts)), float(np.var(daily_counts)), demand)
    return Fitted(
        daily_mean=mean,
        daily_var=var,
        basket_mean=basket_mean * (1 + p),
        basket_var=basket_var * (1 + p) ** 2,
        units_mean=units_mean,
        units_var=units_var,
        days_observed=int(len(daily_counts)),
        transactions_observed=transactions,
    )


def scaled_counts(mean: float, var: float, multiplier: float) -> tuple[float, float]:
    """(mean, variance) of the daily counts with their rate multiplied and their dispersion kept.

    Poisson (variance within 5 % of the mean, or below it) stays Poisson: variance = mean = μm.
    A negative binomial keeps its size r = μ²/(σ² − μ): mean μm, variance μm + (μm)²/r.
    """
    scaled = max(mean * multiplier, 0.0)
    if scaled <= 0:
        return 0.0, 0.0
    if var <= OVER_DISPERSION * mean:
        return scaled, scaled
    size = mean * mean / (var - mean)
    return scaled, scaled + scaled * scaled / size


def chunk_generator(entropy: int, chunk_index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(chunk_index,))))


def _sum_of(counts: np.ndarray, mean: float, var: float, rng: np.random.Generator) -> np.ndarray:
    """Sum of ``counts`` iid draws with the given moments (Gamma moment match; exact when var is 0)."""
    if var <= 0 or mean <= 0:
        return counts * mean
    shape = np.where(counts > 0, counts * mean * mean / var, 1.0)  # a dummy shape where no basket was sold
    return np.where(counts > 0, rng.gamma(shape, var / mean), 0.0)


def simulate_chunk(
    model: Fitted, horizon: int, size: int, entropy: int, chunk_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(revenue per iteration, units per iteration, revenue per iteration and day) for one chunk."""
    rng = chunk_generator(entropy, chunk_index)
    shape = (size, horizon)
    if model.daily_mean <= 0:
        counts = np.zeros(shape)
    elif model.over_dispersed:
        r = model.daily_mean**2 / (model.daily_var - model.daily_mean)
        counts = rng.negative_binomial(r, r / (r + model.daily_mean), size=shape).astype(np.float64)
    else:
        counts = rng.poisson(model.daily_mean, size=shape).astype(np.float64)
    daily_revenue = _sum_of(counts, model.basket_mean, model.basket_var, rng)
    daily_units = _sum_of(counts, model.units_mean, model.units_var, rng)
    return daily_revenue.sum(axis=1), daily_units.sum(axis=1), daily_revenue


def chunks_of(iterations: int) -> list[tuple[int, int]]:
    """(chunk index, size) covering ``iterations``."""
    return [(i, min(CHUNK, iterations - i * CHUNK)) for i in range(math.ceil(iterations / CHUNK))]


def batch_plan(iterations: int, batches: int) -> list[list[tuple[int, int]]]:
    """Contiguous runs of chunks, as even as the chunks allow (never an empty batch)."""
    chunks = chunks_of(iterations)
    batches = max(1, min(batches, len(chunks)))
    bounds = np.linspace(0, len(chunks), batches + 1).round().astype(int)
    return [chunks[bounds[b] : bounds[b + 1]] for b in range(batches)]


def simulate_batch(
    model: Fitted, horizon: int, entropy: int, chunks: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-iteration totals of a batch, and the daily paths of its iterations among the first FAN_ITERATIONS."""
    revenue, units, fan = [], [], []
    for index, size in chunks:
        r, u, daily = simulate_chunk(model, horizon, size, entropy, index)
        revenue.append(r)
        units.append(u)
        start = index * CHUNK
        if start < FAN_ITERATIONS:
            fan.append(daily[: FAN_ITERATIONS - start])
    return np.concatenate(revenue), np.concatenate(units), (np.concatenate(fan) if fan else None)


def _distribution(values: np.ndarray) -> dict[str, Any]:
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {
        "mean": float(np.mean(values)),
        "std": std,
        "mc_standard_error": std / math.sqrt(len(values)),
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))},
    }


def summarise(
    revenue: np.ndarray, units: np.ndarray, daily: np.ndarray | None, *, target: float | None
) -> dict[str, Any]:
    """Everything the dashboard shows for one scenario."""
    counts, edges = np.histogram(revenue, bins=HISTOGRAM_BINS)
    out: dict[str, Any] = {
        "iterations": int(len(revenue)),
        "revenue": _distribution(revenue),
        "units": _distribution(units),
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        "probability_above_target": None if target is None else float(np.mean(revenue > target)),
        "target": target,
    }
    if daily is not None:
        fan = np.percentile(daily, PERCENTILES, axis=0)
        out["daily_fan"] = {
            "iterations": int(daily.shape[0]),
            **{f"p{p}": [round(float(v), 2) for v in row] for p, row in zip(PERCENTILES, fan)},
        }
    return out
