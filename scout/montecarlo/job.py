"""Monte Carlo jobs: a local run over a process pool (CLI), the queue fan-out (Functions), and status.

Both paths use the same steps (scout.montecarlo.runs): create → simulate each batch → store and count
it once → the batch that finds every partial in claims the combine. Only where the batches run differs.

A local run whose process was killed is reported ``abandoned`` after the lease and is resumed with
``resume_local`` (``scout montecarlo run --resume RUN_ID``): only the batches not stored yet are simulated.
The pool's workers die with the process that started them.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from scout.config import Settings
from scout.db import connect
from scout.db.base import Database, LockTimeout, TransactionConflict
from scout.errors import InvalidInput
from scout.jobs.leases import beat_interval
from scout.jobs.runs import JobFailed, lease_seconds_of, safe_reason
from scout.montecarlo import BATCH_QUEUE, model, runs
from scout.montecarlo.scenario import Scenario, parse_scenario

log = logging.getLogger("scout.montecarlo")

#: prctl(2) option: the signal the kernel sends this process when its parent dies.
PR_SET_PDEATHSIG = 1
#: The process that started this pool worker (set by the pool's initializer).
_parent_pid: int | None = None


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: a worker never outlives the process that started it. Otherwise a killed run leaves
    its workers behind, holding memory and the run's output pipes open (a caller waiting on them hangs)."""
    global _parent_pid
    _parent_pid = parent_pid
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the check before each batch still ends an orphan
            pass
    _exit_if_orphaned()  # the parent may have died before the signal was armed


def _exit_if_orphaned() -> None:
    if _parent_pid is not None and os.getppid() != _parent_pid:
        os._exit(1)


def _simulate(args: tuple[dict[str, Any], int, int, list[tuple[int, int]]]) -> tuple[Any, Any, Any, float]:
    _exit_if_orphaned()
    fitted, horizon, entropy, chunks = args
    started = time.perf_counter()
    revenue, units, daily = model.simulate_batch(model.Fitted(**fitted), horizon, entropy, chunks)
    return revenue, units, daily, time.perf_counter() - started


def _simulate_and_store(
    db: Database,
    run: dict[str, Any],
    batches: list[int],
    *,
    workers: int | None,
    lease_seconds: float,
    progress: Callable[[str], None],
) -> None:
    """Simulate ``batches`` of the run in a process pool and store each as it comes in (the last one stored
    combines the run). Between batches the run beats, so a long batch never makes it look abandoned."""
    plan = model.batch_plan(run["iterations"], run["batches"])
    fitted = {k: v for k, v in run["model"].items() if k in model.Fitted.__dataclass_fields__}
    done, total, interval = run["batches"] - len(batches), run["batches"], beat_interval(lease_seconds)
    pool = ProcessPoolExecutor(
        max_workers=workers or min(len(batches), 4), initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    try:
        pending = {
            pool.submit(_simulate, (fitted, run["horizon_days"], int(run["seed_entropy"]), plan[b])): b for b in batches
        }
        while pending:
            finished, _ = wait(pending, timeout=interval, return_when=FIRST_COMPLETED)
            if not finished:
                runs.touch(db, run["run_id"])
            for future in finished:
                batch = pending.pop(future)
                revenue, units, daily, seconds = future.result()
                runs.store_batch(db, run["run_id"], batch, revenue, units, daily, seconds=seconds)
                done += 1
                _report_batches(progress, done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_local(
    raw: dict[str, Any] | Scenario,
    *,
    trigger: str = "cli",
    workers: int | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Run every batch here, in a process pool; returns the completed run."""
    scenario = raw if isinstance(raw, Scenario) else parse_scenario(raw)
    settings = settings or Settings.from_env()
    lease = lease_seconds_of(settings)
    with connect(settings) as db:
        run = runs.create_run(db, scenario, trigger=trigger)
        progress(f"run {run['run_id']}: {run['iterations']:,} iterations in {run['batches']} batch(es)")
        try:
            _simulate_and_store(
                db, run, list(range(run["batches"])), workers=workers, lease_seconds=lease, progress=progress
            )
        except Exception as exc:
            runs.fail(db, run["run_id"], f"{type(exc).__name__}: {exc}")
            raise
        return runs.get_run(db, run["run_id"], lease_seconds=lease)


def resume_local(
    run_id: str,
    *,
    workers: int | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Continue an abandoned run here: simulate only the batches not stored yet, then combine (a run whose
    batches are all stored is combined at once). A completed run is returned as it is; a failed run cannot
    be resumed (InvalidInput); a run still alive, or one whose combine another process holds, is refused
    (LockTimeout: resume it once its lease has passed)."""
    settings = settings or Settings.from_env()
    lease = lease_seconds_of(settings)
    with connect(settings) as db:
        run = runs.load_run(db, run_id)
        if run["status"] == "completed":
            progress(f"run {run_id} is completed already")
            return runs.get_run(db, run_id, lease_seconds=lease)
        if run["status"] == "failed":
            raise InvalidInput(
                f"run {run_id} failed ({run['error'] or 'no reason recorded'}) and cannot be resumed: start a new run"
            )
        if not runs.take_over(db, run_id, lease_seconds=lease):
            raise LockTimeout(
                f"run {run_id} is still alive (last sign of life at {run['updated_at']:%H:%M:%S} UTC):"
                f" resume it once it has been silent for its lease of {lease:g} s"
            )
        missing = runs.missing_batches(db, run)
        progress(
            f"run {run_id}: resuming with {run['batches'] - len(missing)}/{run['batches']} batches stored, "
            f"simulating {len(missing)}"
        )
        try:
            if missing:
                _simulate_and_store(db, run, missing, workers=workers, lease_seconds=lease, progress=progress)
            else:
                runs.combine_if_complete(db, run_id, runs.RESUME_BATCH)
        except runs.CombinePending as exc:
            raise LockTimeout(str(exc)) from None
        except Exception as exc:
            runs.fail(db, run_id, f"{type(exc).__name__}: {exc}")
            raise
        resumed = runs.get_run(db, run_id, lease_seconds=lease)
        if resumed["status"] == "combining":
            raise LockTimeout(
                f"run {run_id} is being combined by another process (claimed at "
                f"{resumed['combine_claimed_at']:%H:%M:%S} UTC); resume it again after "
                f"{runs.COMBINE_LEASE.total_seconds():g} s"
            )
        return resumed


def _report_batches(progress: Callable[[str], None], done: int, total: int) -> None:
    """Counted progress: the callback's ``step`` when it has one (the CLI draws a bar on a terminal),
    else one plain line."""
    step = getattr(progress, "step", None)
    if step is not None:
        step(done, total, "batches")
    else:
        progress(_bar(done, total))


def _bar(done: int, total: int) -> str:
    """The plain line of batch progress (logs, tests and callbacks without ``step``)."""
    return f"{done}/{total} batches"


def submit(
    raw: dict[str, Any] | Scenario,
    *,
    settings: Settings | None = None,
    trigger: str = "http",
    session_id: str | None = None,
) -> dict[str, Any]:
    """Create the run and put one message per batch on the batch queue; returns the run.

    The record and the messages cannot share a transaction; the order and the undo make them one (as
    ``scout.jobs.dispatch.submit``): storage down -> ``StorageUnavailable`` (HTTP 503, Retry-After) before
    anything is recorded; then the run is recorded; then its messages are sent, and when one cannot be,
    this same call fails the run with the reason before raising (``StorageUnavailable`` for an outage,
    ``JobFailed`` otherwise, both naming the run). A run missing a batch could never complete, so nothing
    is left ``processing``; the batches already sent find their run ended and change nothing."""
    from scout.storage import StorageUnavailable, queue_client, send_all

    scenario = raw if isinstance(raw, Scenario) else parse_scenario(raw)
    settings = settings or Settings.from_env()
    queue = queue_client(settings, BATCH_QUEUE)  # storage problems surface before a run exists
    with connect(settings) as db:
        run = runs.create_run(db, scenario, trigger=trigger, session_id=session_id)
        messages = [json.dumps({"run_id": run["run_id"], "batch": b}) for b in range(run["batches"])]
        try:
            send_all(queue, messages, what=f"queueing the batches of Monte Carlo run {run['run_id']}")
        except Exception as exc:
            _fail_unsent(db, run["run_id"], exc)
            if isinstance(exc, StorageUnavailable):
                exc.run_id = run["run_id"]
                raise
            raise JobFailed(
                f"could not enqueue the batches of run {run['run_id']}: {safe_reason(exc)}", run["run_id"]
            ) from exc
    return run


def _fail_unsent(db: Database, run_id: str, exc: BaseException) -> None:
    """Fail the run whose batches could not all be queued. If the database fails too, the run stays
    ``processing`` with no heartbeat, and its lease reports it ``abandoned``."""
    try:
        runs.fail(db, run_id, f"could not enqueue its batches: {safe_reason(exc)}")
    except Exception as db_exc:  # noqa: BLE001 - the send's failure is the one to report
        log.warning("run %s: could not record its unsent batches as a failure: %s", run_id, safe_reason(db_exc))


def _message(body: str) -> tuple[str, int]:
    try:
        message = json.loads(body)
        return str(message["run_id"]), int(message["batch"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("malformed batch message") from None


def run_queued_batch(body: str, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """One queued batch; returns its run, or None when the run already ended (a late delivery changes nothing).

    A delivery whose partial is stored already (a redelivery) does not simulate again, but still tries
    the combine: the run needs it when the delivery that should have combined failed or died. A delivery
    for an abandoned run (its process died) simply stores its batch: that takes the run over.
    An exception (including runs.CombinePending) makes the host deliver the message again; a write
    conflict with other batches of the run never does: it is retried here, in place (``_in_place``).
    """
    run_id, batch = _message(body)
    with connect(settings or Settings.from_env()) as db:
        run = runs.load_run(db, run_id)
        if run["status"] in runs.ENDED:
            return None
        runs.check_batch(run, batch)
        if run["status"] != "processing" or runs.has_partial(db, run_id, batch):
            return _in_place(lambda: runs.combine_if_complete(db, run_id, batch), f"batch {batch} of run {run_id}")
        started = time.perf_counter()
        revenue, units, daily = runs.simulate(run, batch)
        seconds = time.perf_counter() - started
        return _in_place(
            lambda: runs.store_batch(db, run_id, batch, revenue, units, daily, seconds=seconds),
            f"batch {batch} of run {run_id}",
        )


#: Pause between two in-place retries of a batch that lost its write conflicts: doubles, capped, jittered.
CONFLICT_PAUSE_SECONDS, CONFLICT_PAUSE_CAP_SECONDS = 0.05, 2.0


def _in_place(step: Callable[[], Any], what: str) -> Any:
    """Run a batch's store-and-combine until it gets through its write conflicts. Each conflict means
    another batch of the run committed (the run moved on), so this ends; raising it instead would spend
    one of the message's deliveries (host.json maxDequeueCount) on a batch that did nothing wrong. The
    store and the combine are idempotent (a batch counts once, a run combines once): running again is safe."""
    pause = CONFLICT_PAUSE_SECONDS
    while True:
        try:
            return step()
        except TransactionConflict as exc:
            log.info("%s: still losing write conflicts, trying again in place: %s", what, exc)
            time.sleep(random.uniform(0.5, 1.0) * pause)
            pause = min(pause * 2, CONFLICT_PAUSE_CAP_SECONDS)


def poisoned_batch(body: str, *, settings: Settings | None = None) -> None:
    """A batch that kept failing reached the poison queue: its run fails, with the reason."""
    run_id, batch = _message(body)
    with connect(settings or Settings.from_env()) as db:
        runs.fail(db, run_id, f"batch {batch} failed repeatedly and was moved to the poison queue")


def show(run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """The run as reported: ``abandoned`` once it has been silent longer than ``SCOUT_RUN_LEASE_SECONDS``."""
    settings = settings or Settings.from_env()
    with connect(settings) as db:
        return runs.get_run(db, run_id, lease_seconds=lease_seconds_of(settings))
