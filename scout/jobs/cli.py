"""``scout jobs list|show``: the job-run history recorded in ops.job_runs.

A run whose heartbeat is older than ``SCOUT_RUN_LEASE_SECONDS`` shows as ``abandoned`` (its process died),
with the last stage it reached, never as ``running``.
"""

from __future__ import annotations

import argparse

from scout.cli import add_command, command_group, emit, table
from scout.config import Settings
from scout.db import connect
from scout.errors import NotFound
from scout.jobs.runs import MAX_LIMIT, check_limit, get_run, lease_seconds_of, recent_runs


def _limit(value: str) -> int:
    """``--limit``: a whole number in the range ``check_limit`` allows, refused by the parser otherwise (exit 2)."""
    try:
        return check_limit(int(value))
    except ValueError:  # int() refused it, or check_limit did (InvalidInput is a ValueError)
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_LIMIT}, got {value!r}") from None


def _list(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with connect(settings) as db:
        runs = recent_runs(db, args.job, args.limit, lease_seconds=lease_seconds_of(settings))
    emit(
        {"runs": runs},
        args.json,
        lambda r: table(
            [
                (x["started_at"], x["job"], x["trigger_type"], x["status"], (x["error"] or "")[:60], x["run_id"])
                for x in r["runs"]
            ],
            ("started (UTC)", "job", "trigger", "status", "error", "run id"),
        ),
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with connect(settings) as db:
        run = get_run(db, args.run_id, lease_seconds=lease_seconds_of(settings))
    if run is None:
        raise NotFound(f"no job run {args.run_id}")
    emit(run, args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "jobs", "job-run history")
    p = add_command(commands, "list", _list, "latest job runs, newest first")
    p.add_argument("--job", help="only this job, e.g. migrations.apply (default: every job)")
    p.add_argument("--limit", type=_limit, default=20, help=f"how many runs, 1 to {MAX_LIMIT}")
    p = add_command(commands, "show", _show, "one job run with its summary")
    p.add_argument("run_id", help="the run id `scout jobs list` shows")
