"""``scout jobs list|show``: the job-run history recorded in ops.job_runs."""

from __future__ import annotations

import argparse

from scout.cli import add_command, command_group, emit, table
from scout.db import connect
from scout.errors import NotFound
from scout.jobs.runs import get_run, recent_runs


def _list(args: argparse.Namespace) -> int:
    with connect() as db:
        runs = recent_runs(db, args.job, args.limit)
    emit({"runs": runs}, args.json, lambda r: table(
        [(x["started_at"], x["job"], x["trigger_type"], x["status"], (x["error"] or "")[:60], x["run_id"])
         for x in r["runs"]], ("started (UTC)", "job", "trigger", "status", "error", "run id")))
    return 0


def _show(args: argparse.Namespace) -> int:
    with connect() as db:
        run = get_run(db, args.run_id)
    if run is None:
        raise NotFound(f"no job run {args.run_id}")
    emit(run, args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "jobs", "job-run history")
    p = add_command(commands, "list", _list, "latest job runs, newest first")
    p.add_argument("--job", help="only this job, e.g. migrations.apply")
    p.add_argument("--limit", type=int, default=20)
    p = add_command(commands, "show", _show, "one job run with its summary")
    p.add_argument("run_id")
