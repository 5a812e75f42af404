"""The ``scout`` command: a thin layer that parses options and calls the same job code as the Functions.

Each domain registers its own sub-commands (``register(subparsers)`` in ``scout/<domain>/cli.py``).
Exit codes: 0 ok, 1 the job failed, 2 bad input or settings, 3 another run holds the lock, 4 not found.
Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, Callable, Sequence

from scout import __version__

#: Modules whose ``register(subparsers)`` adds commands, in the order ``scout --help`` lists them.
COMMAND_MODULES = (
    "scout.migrations.cli",
    "scout.jobs.cli",
    "scout.demo.cli",
    "scout.personas.cli",
    "scout.exports.cli",
    "scout.montecarlo.cli",
    "scout.sql.cli",
    "scout.pipeline",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too; keep it short)
        if "--json" in sys.argv[1:]:  # the caller parses stdout: still one JSON object
            print(json.dumps({"error": "invalid_input", "message": message, "run_id": None}))
        self.exit(2, f"scout: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scout", description="Scout Jobs: migrations, personas, exports and simulations.")
    parser.add_argument("--version", action="version", version=f"scout {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def command_group(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    """``scout <name> COMMAND``: a group whose sub-command is required."""
    group = sub.add_parser(name, help=help_text, description=help_text)
    commands = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    commands.required = True
    return commands


def add_command(commands: argparse._SubParsersAction, name: str, handler: Callable[[argparse.Namespace], int],
                help_text: str, description: str | None = None) -> argparse.ArgumentParser:
    """One sub-command with help text and the ``--json`` option every command has."""
    parser = commands.add_parser(name, help=help_text, description=description or help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(handler=handler)
    return parser


def emit(result: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print a result: one JSON object with ``--json``, else the human rendering."""
    if as_json:
        print(json.dumps(result, default=str, sort_keys=False))
    else:
        print(human(result) if human else json.dumps(result, default=str, indent=2))


def progress_printer(as_json: bool) -> Callable[[str], None]:
    """Progress goes to stderr, so stdout stays one JSON object with ``--json``."""
    def show(message: str) -> None:
        print(message, file=sys.stderr, flush=True)
    return show


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from scout.errors import classify
    from scout.logging_setup import configure_cli_logging

    configure_cli_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # output piped into head & co: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("scout: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure becomes one line and an exit code
        _, code, kind = classify(exc)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if getattr(args, "json", False):
            print(json.dumps({"error": kind, "message": message, "run_id": getattr(exc, "run_id", None)}))
        print(f"scout: {message}", file=sys.stderr)
        return code
