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
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from scout import __version__
from scout.errors import first_line

#: Modules whose ``register(subparsers)`` adds commands, in the order ``scout --help`` lists them.
COMMAND_MODULES = (
    "scout.migrations.cli",
    "scout.jobs.cli",
    "scout.demo.cli",
    "scout.personas.cli",
    "scout.targeting.cli",
    "scout.exports.cli",
    "scout.montecarlo.cli",
    "scout.results.cli",
    "scout.medallion.cli",
    "scout.sql.cli",
    "scout.pipeline",
)


#: The command line being parsed (``main`` sets it; ``None``: ``sys.argv``), so a parse error knows --json.
_argv: list[str] | None = None

JSON_HELP = "print one JSON object on stdout (before or after the command)"


class _HelpFormatter(argparse.HelpFormatter):
    """Shows the default of every option that takes a value and has one (a flag's default is off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            action.option_strings
            and action.nargs != 0
            and action.default not in (None, argparse.SUPPRESS)
            and "%(default)" not in text
        ):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too; keep it short)
        if "--json" in (sys.argv[1:] if _argv is None else _argv):  # the caller parses stdout: one JSON object
            print(json.dumps({"error": "invalid_input", "message": message, "run_id": None}))
        self.exit(2, f"scout: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scout", description="Scout Jobs: migrations, personas, exports and simulations.")
    parser.add_argument("--version", action="version", version=f"scout {__version__}")
    # The same flag as each command's --json, so `scout --json migrate status` works too (main merges them).
    parser.add_argument("--json", dest="json_before_command", action="store_true", help=JSON_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="print a completion script for bash or zsh; load it with "
        'eval "$(scout completion bash)" in ~/.bashrc (zsh: ~/.zshrc)',
    )
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell to complete in")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=_completion)
    return parser


def _completion(args: argparse.Namespace) -> int:
    from scout.completion import script

    text = script(build_parser(), args.shell)
    emit({"shell": args.shell, "script": text}, args.json, lambda r: r["script"].rstrip("\n"))
    return 0


def command_group(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    """``scout <name> COMMAND``: a group whose sub-command is required."""
    group = sub.add_parser(name, help=help_text, description=help_text)
    group.add_argument(
        "--json", dest="json_before_command", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP
    )
    commands = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    commands.required = True
    return commands


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help_text: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """One sub-command with help text and the ``--json`` option every command has."""
    parser = commands.add_parser(name, help=help_text, description=description or help_text)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.set_defaults(handler=handler)
    return parser


def emit(result: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print a result: one JSON object with ``--json``, else the human rendering."""
    if as_json:
        print(json.dumps(result, default=str, sort_keys=False))
    else:
        print(human(result) if human else json.dumps(result, default=str, indent=2))


class Progress:
    """Progress on stderr, so stdout stays one JSON object with ``--json``.

    Called with a message, it prints one line. ``step(done, total, unit)`` reports counted work: a tqdm bar
    when stderr is a terminal and tqdm is installed, else one plain line per step (logs, CI, tests).
    """

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream
        self._bar: Any = None

    @property
    def stream(self) -> Any:
        return self._stream or sys.stderr  # looked up late: tests and callers may swap sys.stderr

    def __call__(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def step(self, done: int, total: int, unit: str) -> None:
        if self._bar is None and not self._open_bar(done, total, unit):
            self(f"{done}/{total} {unit}")
            return
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()
            self._bar = None

    def _open_bar(self, done: int, total: int, unit: str) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        if not (isatty and isatty()):
            return False
        try:
            from tqdm import tqdm
        except ImportError:  # optional: plain lines without it
            return False
        self._bar = tqdm(
            total=total, initial=done - 1 if done else 0, unit=f" {unit}", file=self.stream, dynamic_ncols=True
        )
        return True


def progress_printer(as_json: bool) -> Progress:
    """The progress callback of a command (stderr either way; ``as_json`` kept for the callers)."""
    return Progress()


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from scout.errors import classify
    from scout.logging_setup import configure_cli_logging

    global _argv
    configure_cli_logging()
    parser = build_parser()
    _argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_argv)
    args.json = bool(getattr(args, "json", False) or args.json_before_command)
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
        message = first_line(exc)
        if getattr(args, "json", False):
            print(json.dumps({"error": kind, "message": message, "run_id": getattr(exc, "run_id", None)}))
        print(f"scout: {message}", file=sys.stderr)
        return code
