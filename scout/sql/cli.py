"""``scout sql render --engine mssql|duckdb --out DIR``: every statement the app can send, one file each."""

from __future__ import annotations

import argparse

from scout.cli import add_command, command_group, emit
from scout.sql import render


def _render(args: argparse.Namespace) -> int:
    result = render.render(args.engine, args.out)
    emit({k: v for k, v in result.items() if k != "paths"}, args.json, render.summary_line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "sql", "the SQL the app sends, for review")
    p = add_command(
        commands,
        "render",
        _render,
        "write every statement the app can send, one file each",
        "write each migration batch, each runtime statement (captured while the jobs run on a "
        "scratch DuckDB database, named after the code that sends it) and the Azure SQL "
        "backend's own statements, one file per statement",
    )
    p.add_argument(
        "--engine",
        choices=render.ENGINES,
        default="mssql",
        help="mssql: the T-SQL Azure SQL runs; duckdb: its DuckDB translation",
    )
    p.add_argument("--out", required=True, help="folder to write into (created if missing)")
