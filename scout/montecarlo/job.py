"""Monte Carlo jobs: a local run over a process pool (CLI), the queue fan-out (Functions), and status.

Both paths use the same steps (scout.montecarlo.runs): create → simulate each batch → store and count
it once → the batch that finds every partial in claims the combine. Only where the batches run differs.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable

from scout.config import Settings
from scout.db import connect
from scout.errors import InvalidInput
from scout.montecarlo import BATCH_QUEUE, model, runs
from scout.montecarlo.scenario import Scenario, parse_scenario


def _simulate(args: tuple[dict[str, Any], int, int, list[tuple[int, int]]]) -> tuple[Any, Any, Any, float]:
    fitted, horizon, entropy, chunks = args
    started = time.perf_counter()
    revenue, units, daily = model.simulate_batch(model.Fitted(**fitted), horizon, entropy, chunks)
    return revenue, units, daily, time.perf_counter() - started


def run_local(raw: dict[str, Any] | Scenario, *, trigger: str = "cli", workers: int | None = None,
              settings: Settings | None = None, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Run every batch here, in a process pool; returns the completed run."""
    scenario = raw if isinstance(raw, Scenario) else parse_scenario(raw)
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        run = runs.create_run(db, scenario, trigger=trigger)
        plan = model.batch_plan(run["iterations"], run["batches"])
        fitted = {k: v for k, v in run["model"].items() if k in model.Fitted.__dataclass_fields__}
        jobs = [(fitted, run["horizon_days"], int(run["seed_entropy"]), chunks) for chunks in plan]
        try:
            with ProcessPoolExecutor(max_workers=workers or min(len(plan), 4)) as pool:
                futures = {pool.submit(_simulate, j): b for b, j in enumerate(jobs)}
                for done, future in enumerate(as_completed(futures), start=1):
                    revenue, units, daily, seconds = future.result()
                    runs.store_batch(db, run["run_id"], futures[future], revenue, units, daily, seconds=seconds)
                    progress(_bar(done, len(plan)))
        except Exception as exc:
            runs.fail(db, run["run_id"], f"{type(exc).__name__}: {exc}")
            raise
        return runs.get_run(db, run["run_id"])


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} batches"


def submit(raw: dict[str, Any] | Scenario, *, settings: Settings | None = None, trigger: str = "http",
           session_id: str | None = None) -> dict[str, Any]:
    """Create the run and put one message per batch on the batch queue; returns the run."""
    from scout.storage import queue_client

    scenario = raw if isinstance(raw, Scenario) else parse_scenario(raw)
    settings = settings or Settings.from_env()
    queue = queue_client(settings, BATCH_QUEUE)  # storage problems surface before a run exists
    with connect(settings) as db:
        run = runs.create_run(db, scenario, trigger=trigger, session_id=session_id)
    for batch in range(run["batches"]):
        queue.send_message(json.dumps({"run_id": run["run_id"], "batch": batch}))
    return run


def _message(body: str) -> tuple[str, int]:
    try:
        message = json.loads(body)
        return str(message["run_id"]), int(message["batch"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("malformed batch message") from None


def run_queued_batch(body: str, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """One queued batch; returns its run, or None when the run already ended (a late delivery changes nothing).

    A delivery whose partial is stored already (a redelivery) does not simulate again, but still tries
    the combine: the run needs it when the delivery that should have combined failed or died.
    An exception (including runs.CombinePending) makes the host deliver the message again.
    """
    run_id, batch = _message(body)
    with connect(settings or Settings.from_env()) as db:
        run = runs.get_run(db, run_id)
        if run["status"] in runs.ENDED:
            return None
        runs.check_batch(run, batch)
        if run["status"] != "processing" or runs.has_partial(db, run_id, batch):
            return runs.combine_if_complete(db, run_id, batch)
        started = time.perf_counter()
        revenue, units, daily = runs.simulate(run, batch)
        return runs.store_batch(db, run_id, batch, revenue, units, daily, seconds=time.perf_counter() - started)


def poisoned_batch(body: str, *, settings: Settings | None = None) -> None:
    """A batch that kept failing reached the poison queue: its run fails, with the reason."""
    run_id, batch = _message(body)
    with connect(settings or Settings.from_env()) as db:
        runs.fail(db, run_id, f"batch {batch} failed repeatedly and was moved to the poison queue")


def show(run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    with connect(settings or Settings.from_env()) as db:
        return runs.get_run(db, run_id)
