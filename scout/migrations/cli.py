"""``scout migrate status|apply|verify|undo|baseline``: parse options, call scout.migrations.job, print."""

from __future__ import annotations

import argparse
from typing import Any

from scout.cli import add_command, command_group, emit, progress_printer, table
from scout.errors import EXIT_FAILED, EXIT_OK
from scout.migrations import job


def format_status(result: dict[str, Any]) -> str:
    rows = [
        (m["version"] or "R", m["description"], m["type"], "applied", (m.get("applied_at") or "")[:19])
        for m in result["applied"]
    ]
    rows += [(m["version"] or "R", m["description"], m["type"], "pending", "") for m in result["pending"]]
    rows += [
        (m["version"] or "R", m["description"], m["type"], "FAILED", (m.get("applied_at") or "")[:19])
        for m in result["failed"]
    ]
    drift = result["drift"]
    lines = [
        f"database: {result['database']}",
        table(rows, ("version", "description", "type", "state", "applied at (UTC)")),
        f"{len(result['applied'])} applied, {len(result['pending'])} pending, {len(result['failed'])} failed",
    ]
    if any(drift.values()):
        lines.append("drift: " + ", ".join(f"{k}={len(v)}" for k, v in drift.items() if v) + " (scout migrate verify)")
    return "\n".join(lines)


def format_apply(result: dict[str, Any]) -> str:
    if result["dry_run"]:
        parts = []
        for m in result["would_apply"]:
            parts.append(
                f"-- {m['script']}\n-- T-SQL (Azure SQL):\n"
                + "\nGO\n".join(m["sql"]["tsql"])
                + "\nGO\n-- DuckDB:\n"
                + ";\n".join(m["sql"]["duckdb"])
                + ";"
            )
        return (
            "\n\n".join(parts)
            + f"\n\n{len(result['would_apply'])} migration(s) would be applied (dry run: nothing changed)"
        )
    names = [m["script"] for m in result["applied"]]
    return (
        f"applied {len(names)} migration(s)"
        + (": " + ", ".join(names) if names else "")
        + f"; {result.get('pending', 0)} pending"
    )


def format_verify(result: dict[str, Any]) -> str:
    lines = ["ok: every applied migration matches its file"] if result["ok"] else []
    for kind in ("changed", "missing", "unknown"):
        for item in result[kind]:
            lines.append(f"{kind}: {item.get('script') or item.get('version')}")
    lines += [f"lint: {item['error']}" for item in result.get("lint", [])]
    lines += [
        f"amended: {a['script']} (ledger {a['ledger_checksum'][:12]}: {a['reason']})" for a in result.get("amended", [])
    ]
    lines += [f"warning: {item['error']}" for item in result.get("warnings", [])]
    return "\n".join(lines)


def _status(args: argparse.Namespace) -> int:
    emit(job.status(), args.json, format_status)
    return EXIT_OK


def _apply(args: argparse.Namespace) -> int:
    result = job.apply(trigger="cli", target=args.target, dry_run=args.dry_run, progress=progress_printer(args.json))
    emit(result, args.json, format_apply)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    result = job.verify()
    emit(result, args.json, format_verify)
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _undo(args: argparse.Namespace) -> int:
    result = job.undo(trigger="cli", target=args.target, progress=progress_printer(args.json))
    emit(result, args.json, lambda r: f"undone {len(r['undone'])} migration(s); now at version {r['target']}")
    return EXIT_OK


def _baseline(args: argparse.Namespace) -> int:
    result = job.baseline(trigger="cli", version=args.version)
    emit(result, args.json, lambda r: f"baselined {len(r['baselined'])} migration(s) up to version {r['version']}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    commands = command_group(sub, "migrate", "apply and inspect database migrations")
    add_command(commands, "status", _status, "list applied and pending migrations")
    p = add_command(commands, "apply", _apply, "apply pending migrations (versioned, then changed repeatables)")
    p.add_argument("--target", help="stop after this version (default: apply every pending one)")
    p.add_argument("--dry-run", action="store_true", help="print the SQL each engine would run; change nothing")
    add_command(
        commands,
        "verify",
        _verify,
        "compare the ledger with the files and lint them (exit 1 when they differ or break the subset)",
    )
    p = add_command(commands, "undo", _undo, "undo applied versions above --target, newest first")
    p.add_argument("--target", required=True, help="version to go back to")
    p = add_command(commands, "baseline", _baseline, "mark versions up to --version as already present (no SQL runs)")
    p.add_argument("--version", required=True, help="last version the database already has")
