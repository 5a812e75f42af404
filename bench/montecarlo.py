"""Monte Carlo throughput and memory.

1. Simulation vs the raw cost of drawing the same random numbers with numpy, same process (goal <= 2.0).
2. Simulation vs a straightforward Python loop over iterations (goal >= 50x faster; the loop is
   timed on a subset and scaled).
3. 1,000,000 iterations x 90 days in a fresh process: peak memory (goal < 1 GB).
4. Reading a persisted results segment, as the v3 endpoint does (goal < 500 ms).

    .venv/bin/python bench/montecarlo.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

import numpy as np

from scout.montecarlo import model

FITTED = model.Fitted(
    daily_mean=400.0,
    daily_var=900.0,
    basket_mean=74.0,
    basket_var=5900.0,
    units_mean=3.0,
    units_var=4.8,
    days_observed=30,
    transactions_observed=12000,
)


def raw_draws(iterations: int, horizon: int) -> None:
    """Exactly the random numbers the model draws (counts, then two gamma sums), nothing else."""
    r = FITTED.daily_mean**2 / (FITTED.daily_var - FITTED.daily_mean)
    for index, size in model.chunks_of(iterations):
        rng = model.chunk_generator(1, index)
        rng.negative_binomial(r, r / (r + FITTED.daily_mean), size=(size, horizon))
        rng.gamma(np.full((size, horizon), 400.0), 80.0)
        rng.gamma(np.full((size, horizon), 400.0), 1.6)


def python_loop(iterations: int, horizon: int) -> list[float]:
    """The straightforward approach: loop over iterations and days, draw the day's count, then each
    basket (the model the Gamma sum stands for), with numpy's generator called from Python."""
    rng = np.random.default_rng(1)
    r = FITTED.daily_mean**2 / (FITTED.daily_var - FITTED.daily_mean)
    p = r / (r + FITTED.daily_mean)
    shape, scale = FITTED.basket_mean**2 / FITTED.basket_var, FITTED.basket_var / FITTED.basket_mean
    totals = []
    for _ in range(iterations):
        revenue = 0.0
        for _ in range(horizon):
            count = rng.negative_binomial(r, p)
            revenue += float(rng.gamma(shape, scale, size=count).sum())
        totals.append(revenue)
    return totals


def best(fn, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


MEMORY_CHILD = r"""
import resource, time, sys, json
from scout.montecarlo import model
fitted = model.Fitted(400.0, 900.0, 74.0, 5900.0, 3.0, 4.8, 30, 12000)
t = time.perf_counter()
revenue, units, daily = model.simulate_batch(fitted, 90, 5, model.chunks_of(1_000_000))
summary = model.summarise(revenue, units, daily, target=None)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def read_latency() -> float:
    """Median time to read a persisted segment the way GET segment/{session}/{segment} does: Market comes
    from the session's completed run (100,000 iterations x 90 days), among 2,000 sessions."""
    from scout.config import Settings
    from scout.db import connect
    from scout.demo import job as demo
    from scout.migrations import job as migrations
    from scout.montecarlo.job import run_local
    from scout.results import sessions

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{tmp}/r.duckdb"})
        migrations.apply(trigger="cli", settings=settings)
        demo.seed(trigger="cli", transactions=5_000, seed=7, settings=settings)
        run = run_local({"iterations": 100_000, "horizon_days": 90, "seed": 1}, settings=settings, workers=2)
        with connect(settings) as db:
            history = sessions.history_segments(db, sessions.scenario_for("all"))
            for i in range(2000):
                sessions.record_generation(db, f"s{i}", "all", run["run_id"], history)
        samples = []
        for i in range(0, 2000, 100):
            t = time.perf_counter()
            sessions.segment(f"s{i}", "Market", settings=settings)
            samples.append(time.perf_counter() - t)
    return float(np.median(samples))


def main() -> None:
    iterations, horizon = 100_000, 90
    ours = best(lambda: model.simulate_batch(FITTED, horizon, 1, model.chunks_of(iterations)))
    draws = best(lambda: raw_draws(iterations, horizon))
    print(f"simulate {iterations:,} x {horizon} days : {ours:6.2f} s")
    print(f"raw numpy draws, same numbers  : {draws:6.2f} s   ratio {ours / draws:.2f} (goal <= 2.0)")
    subset = 100
    loop = best(lambda: python_loop(subset, horizon), repeat=1) * iterations / subset
    print(f"python loop (scaled from {subset})  : {loop:6.1f} s   speed-up {loop / ours:.0f}x (goal >= 50)")
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD], capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout)
    print(
        f"1,000,000 x 90 days            : {figures['seconds']:6.1f} s, peak {figures['peak_mb']:.0f} MB (goal < 1024)"
    )
    print(f"read a persisted segment       : {read_latency() * 1000:6.1f} ms median (goal < 500)")


if __name__ == "__main__":
    main()
