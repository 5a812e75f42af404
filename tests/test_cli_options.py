"""The `scout` command line itself: --json before or after the command, help with defaults, shell
completion, and progress that is a bar on a terminal and plain lines everywhere else."""

import argparse
import io
import json
import shutil
import subprocess
import sys

import pytest

from scout.cli import Progress, build_parser
from scout.completion import commands, script
from scout.montecarlo import job as montecarlo


def scout(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scout", *args], capture_output=True, text=True, timeout=120)


def test_json_is_accepted_before_the_command_as_well_as_after_it(db_url):
    assert scout("migrate", "apply", "--target", "2").returncode == 0

    after = scout("migrate", "status", "--json")
    before = scout("--json", "migrate", "status")
    between = scout("migrate", "--json", "status")

    assert after.returncode == before.returncode == between.returncode == 0, before.stderr + between.stderr
    status = json.loads(after.stdout)
    assert [m["version"] for m in status["applied"]] == ["1", "2"]
    assert json.loads(before.stdout) == json.loads(between.stdout) == status


def test_a_parse_error_with_json_before_the_command_is_still_one_json_object(db_url):
    done = scout("--json", "migrate", "apply", "--target")
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "invalid_input"
    assert done.stderr.count("\n") == 1


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            yield action


def _name(value) -> str:
    return ("scout " + " ".join(value)).strip() if isinstance(value, tuple) else ""


@pytest.mark.parametrize("path, parser", list(commands(build_parser())), ids=_name)
def test_every_option_has_help_and_its_help_shows_its_default(path, parser):
    shown = " ".join(parser.format_help().split())  # argparse wraps lines: compare with single spaces
    for action in _options(parser):
        name = f"scout {' '.join(path)} {action.option_strings[-1]}"
        assert action.help and action.help.strip(), f"{name} has no help"
        if action.nargs != 0 and action.default not in (None, argparse.SUPPRESS):
            assert f"(default: {action.default})" in shown, f"{name} does not show its default {action.default!r}"
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            assert action.help, f"scout {' '.join(path)} {action.dest} has no help"


def test_an_option_whose_default_is_applied_later_still_says_it_in_its_help():
    run = dict(commands(build_parser()))[("montecarlo", "run")]
    shown = " ".join(run.format_help().split())
    assert "--iterations ITERATIONS simulated futures (default: 1000)" in shown
    assert "(default: -1.2)" in shown


def test_the_bash_completion_script_names_every_command():
    text = scout("completion", "bash").stdout
    assert "complete -F _scout scout" in text
    for path, _ in commands(build_parser()):
        for name in path:
            assert name in text, f"completion lacks {name}"
    assert script(build_parser(), "zsh").endswith(text)  # zsh runs the same function through bashcompinit


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "scout ",
            {
                "migrate",
                "jobs",
                "demo",
                "personas",
                "export",
                "montecarlo",
                "medallion",
                "results",
                "targeting",
                "sql",
                "run",
                "completion",
                "--json",
                "--help",
                "--version",
            },
        ),
        ("scout mig", {"migrate"}),
        ("scout --json migrate st", {"status"}),
        ("scout migrate apply --", {"--help", "--json", "--target", "--dry-run"}),
        ("scout sql render --engine ", {"mssql", "duckdb"}),
        ("scout jobs show 1234 --j", {"--json"}),
    ],
)
def test_bash_completes_commands_options_and_choices(line, expected):
    program = (
        script(build_parser(), "bash") + 'read -ra COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=("");'
        ' COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _scout; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program, "bash", line], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected


def test_progress_on_a_pipe_is_plain_one_line_messages():
    stream = io.StringIO()  # not a terminal, as in CI, tests and logs
    progress = Progress(stream)

    progress("run abc: 1,000 iterations in 3 batch(es)")
    for done in (1, 2, 3):
        montecarlo._report_batches(progress, done, 3)

    assert stream.getvalue().splitlines() == [
        "run abc: 1,000 iterations in 3 batch(es)",
        "1/3 batches",
        "2/3 batches",
        "3/3 batches",
    ]


def test_a_plain_callback_gets_the_same_lines():
    said = []
    for done in (1, 2):
        montecarlo._report_batches(said.append, done, 2)
    assert said == ["1/2 batches", "2/2 batches"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_tqdm_bar_that_closes_when_done():
    pytest.importorskip("tqdm")
    stream = Terminal()
    progress = Progress(stream)

    for done in (3, 4):  # a resumed run: two of four batches were stored before
        progress.step(done, 4, "batches")
    progress("combined")

    drawn = stream.getvalue()
    assert "\r" in drawn and "4/4" in drawn  # redrawn in place, not a line per step
    assert "3/4 batches\n" not in drawn
    assert drawn.endswith("combined\n")  # the bar closed: later messages are plain lines again
