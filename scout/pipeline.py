"""``scout run``: the whole pipeline on the configured database, as the README's first command runs it.

Today: apply all migrations and print the status table. Later stages (demo seed, persona inference,
flat export, a Monte Carlo run) are appended to ``STAGES`` by their domains.
"""

from __future__ import annotations

import argparse
import sys

from scout.cli import emit, progress_printer
from scout.migrations import job as migrations_job
from scout.migrations.cli import format_status


def run_pipeline(args: argparse.Namespace) -> int:
    progress = progress_printer(args.json)
    result = {"migrations": migrations_job.apply(trigger="cli", progress=progress)}
    status = migrations_job.status()
    result["status"] = status
    if not args.json:
        print(format_status(status))
    else:
        emit(result, True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the whole pipeline on the configured database",
                       description="migrate, then the rest of the pipeline, on the configured database")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_pipeline)
