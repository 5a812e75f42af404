"""The `scout` command as a data engineer uses it: exit codes, one JSON object with --json, one-line errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scout.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def scout(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "scout", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_status_json_is_one_object_with_applied_and_pending_items(db_url):
    assert scout("migrate", "apply", "--target", "1").returncode == 0
    done = scout("migrate", "status", "--json")
    assert done.returncode == 0
    status = json.loads(done.stdout)  # exactly one JSON document
    assert [m["version"] for m in status["applied"]] == ["1"]
    assert {"version", "description", "type", "checksum"} <= set(status["pending"][0])


def test_status_of_a_database_that_does_not_exist_is_exit_2_and_creates_nothing(db_url):
    path = Path(db_url.removeprefix("duckdb:///"))
    done = scout("migrate", "status", "--json")
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "configuration_error"
    assert done.stderr == f"scout: no database at {path} (run scout migrate apply first, or fix SCOUT_DATABASE_URL)\n"
    assert not path.exists()


def test_apply_then_verify_exit_0_and_print_progress_on_stderr(db_url):
    done = scout("migrate", "apply", "--json")
    assert done.returncode == 0 and "applied V001__source_objects.sql" in done.stderr
    assert json.loads(done.stdout)["pending"] == 0
    assert scout("migrate", "verify").returncode == 0
    status = json.loads(scout("migrate", "status", "--json").stdout)
    assert status["pending"] == [] and all(
        {"version", "description", "type", "checksum"} <= set(m) for m in status["applied"]
    )


def test_verify_exits_1_and_names_the_file_batch_and_line_of_a_lint_error(db_url, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "V1__t.sql").write_text("CREATE TABLE dbo.t (a INT);\nGO\nCREATE TABLE dbo.u (id INT IDENTITY(1,1));")
    applied = scout("migrate", "apply", env={"SCOUT_MIGRATIONS_DIR": str(folder)})
    assert applied.returncode == 1 and applied.stderr.count("\n") == 1 and "V1__t.sql batch 2" in applied.stderr
    done = scout("migrate", "verify", env={"SCOUT_MIGRATIONS_DIR": str(folder)})
    assert done.returncode == 1 and "lint: V1__t.sql batch 2 line 1: IDENTITY" in done.stdout


def test_verify_exits_1_on_drift(db_url, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(ROOT / "sql" / "migrations", folder)
    env = {"SCOUT_MIGRATIONS_DIR": str(folder)}
    assert scout("migrate", "apply", env=env).returncode == 0
    (folder / "V002__reference_schema.sql").write_text("CREATE SCHEMA ref2;")
    done = scout("migrate", "verify", "--json", env=env)
    assert done.returncode == 1 and json.loads(done.stdout)["changed"][0]["version"] == "2"


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("migrate", "apply", "--target", "v-two"), 2, "target must be a version"),
        (("migrate", "apply", "--target", "999"), 2, "target version 999 has no V999__*.sql file"),
        (("migrate", "undo", "--target", "999"), 2, "target version 999 has no V999__*.sql file"),
        (("migrate", "baseline", "--version", "999"), 2, "baseline version 999 has no V999__*.sql file"),
        (("migrate", "bogus"), 2, "invalid choice"),
        (("jobs", "show", "00000000-0000-0000-0000-000000000000"), 4, "no job run"),
        (("migrate", "undo", "--target", "0"), 1, "no undo file"),
    ],
)
def test_errors_are_one_stderr_line_and_an_exit_code(db_url, args, code, message):
    scout("migrate", "apply", "--target", "3")
    done = scout(*args)
    assert done.returncode == code
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("SCOUT_DATABASE_URL", "postgres://x/y"),
        ("SCOUT_DUCKDB_MEMORY_LIMIT", "abc"),
        ("SCOUT_LOCK_TIMEOUT_SECONDS", "nan"),
    ],
)
def test_bad_settings_are_exit_2_naming_the_setting(db_url, name, value):
    done = scout("migrate", "apply", env={name: value})
    assert done.returncode == 2 and name in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not Path(db_url.removeprefix("duckdb:///")).exists()  # refused before the database was created


@pytest.mark.parametrize(
    "args", [("migrate", "apply", "--json", "--target", "nine"), ("migrate", "apply", "--json", "--no-such-option")]
)
def test_error_with_json_still_prints_one_json_object(db_url, args):
    done = scout(*args)
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "invalid_input"
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def _commands(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


def test_every_command_is_in_the_readme_and_has_help():
    readme = (ROOT / "README.md").read_text()
    for path, sub in _commands(build_parser()):
        leaf = not any(a.__class__.__name__ == "_SubParsersAction" for a in sub._actions)
        if leaf:
            assert sub.description, f"scout {' '.join(path)} has no help text"
            assert re.search(r"`scout " + re.escape(" ".join(path)) + r"\b", readme), (
                f"README lacks scout {' '.join(path)}"
            )


def test_dry_run_prints_the_sql_of_both_engines_and_changes_nothing(db_url):
    done = scout("migrate", "apply", "--dry-run", "--target", "2")
    assert done.returncode == 0
    assert done.stdout.count("-- T-SQL (Azure SQL):") == 2 and done.stdout.count("-- DuckDB:") == 2
    assert "2 migration(s) would be applied (dry run: nothing changed)" in done.stdout
    status = json.loads(scout("migrate", "status", "--json").stdout)
    assert status["applied"] == [] and len(status["pending"]) > 2


def test_export_full_summarizes_every_basket_again_and_says_how_many(db_url, tmp_path):
    env = {"SCOUT_DATABASE_URL": db_url}
    assert scout("migrate", "apply", env=env).returncode == 0
    assert scout("demo", "seed", "--transactions", "200", env=env).returncode == 0
    out = str(tmp_path / "exports")

    first = scout("export", "flat", "--out", out, "--json", env=env)
    again = scout("export", "flat", "--out", out, "--full", "--json", env=env)

    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert json.loads(first.stdout)["baskets_summarized"] == json.loads(again.stdout)["baskets_summarized"] == 200
    assert "summarized 200 baskets" in again.stderr
