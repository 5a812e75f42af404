"""Settings are checked when they are read, as inputs are: a wrong one is a ConfigError naming it (CLI exit 2,
HTTP 500 configuration_error), never a job that waits forever or dies half-way.

And the embedded database is never created by accident: only ``migrate apply`` (and ``scout run``, which
starts with it) creates the DuckDB file; a missing file is an error everywhere else, and a file name that
DuckDB would turn into a catalog named like one of our schemas is refused before it exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from scout.cli import main
from scout.config import SETTINGS, ConfigError, Settings
from scout.db import NoDatabase, connect
from scout.db.duckdb_backend import RESERVED_CATALOG_NAMES, DuckDBDatabase, catalog_name
from tests.conftest import call_http

ROOT = Path(__file__).resolve().parents[1]


# -- numbers and units -------------------------------------------------------------------------------------

NUMERIC = [s.name for s in SETTINGS if isinstance(s.default, (int, float)) and not isinstance(s.default, bool)]


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e400", "-1", "abc", "1e999999", "9" * 5000])
def test_every_numeric_setting_refuses_non_finite_negative_and_unreadable_values(name, raw):
    with pytest.raises(ConfigError, match=rf"^setting {name} has an invalid value '.*': must be"):
        Settings.from_env({name: raw})


def test_numeric_settings_have_upper_bounds():
    for name, too_big in [
        ("SCOUT_LOCK_TIMEOUT_SECONDS", "1e9"),
        ("SCOUT_RUN_LEASE_SECONDS", "1e9"),
        ("SCOUT_RETRY_ATTEMPTS", "1000000000000000000000000000000"),
        ("SCOUT_RETRY_FIRST_WAIT_SECONDS", "86400"),
        ("SCOUT_SECRET_CACHE_SECONDS", "1e7"),
    ]:
        with pytest.raises(ConfigError, match=f"{name} .*must be at most"):
            Settings.from_env({name: too_big})


@pytest.mark.parametrize(
    "name, raw",
    [
        ("SCOUT_LOCK_TIMEOUT_SECONDS", "0"),
        ("SCOUT_RUN_LEASE_SECONDS", "0"),
        ("SCOUT_RETRY_ATTEMPTS", "0"),
        ("SCOUT_RETRY_ATTEMPTS", "2.5"),
    ],
)
def test_waits_that_must_happen_refuse_zero_and_attempts_are_whole(name, raw):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


def test_sensible_values_are_read_as_numbers():
    settings = Settings.from_env(
        {
            "SCOUT_LOCK_TIMEOUT_SECONDS": " 0.2 ",
            "SCOUT_RETRY_FIRST_WAIT_SECONDS": "0",
            "SCOUT_RETRY_ATTEMPTS": "3",
            "SCOUT_RUN_LEASE_SECONDS": "1.5",
        }
    )
    assert (
        settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
        settings["SCOUT_RETRY_FIRST_WAIT_SECONDS"],
        settings["SCOUT_RETRY_ATTEMPTS"],
        settings["SCOUT_RUN_LEASE_SECONDS"],
    ) == (0.2, 0.0, 3, 1.5)


@pytest.mark.parametrize(
    "raw", ["abc", "-1GB", "0MB", "8MB", "512", "10PB", "1e3MB", "1GB'; DROP TABLE x; --", "½GB", "１GB", "80%"]
)
def test_a_memory_limit_without_a_known_unit_or_out_of_range_is_refused_when_settings_are_read(raw):
    with pytest.raises(ConfigError, match=r"^setting SCOUT_DUCKDB_MEMORY_LIMIT has an invalid value"):
        Settings.from_env({"SCOUT_DUCKDB_MEMORY_LIMIT": raw})


@pytest.mark.parametrize(
    "raw, parsed", [("128MB", "128MB"), (" 2 gib ", "2GiB"), ("1.5GB", "1.5GB"), ("16MB", "16MB"), ("", "")]
)
def test_a_memory_limit_is_normalised_before_it_reaches_duckdb(tmp_path, raw, parsed):
    assert Settings.from_env({"SCOUT_DUCKDB_MEMORY_LIMIT": raw})["SCOUT_DUCKDB_MEMORY_LIMIT"] == parsed
    if parsed:
        db = DuckDBDatabase(str(tmp_path / "m.duckdb"), memory_limit=parsed)
        try:
            assert db.query_one("SELECT current_setting('memory_limit')")[0].endswith("B")
        finally:
            db.close()


def test_the_backend_itself_refuses_a_bad_memory_limit_as_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="SCOUT_DUCKDB_MEMORY_LIMIT"):
        DuckDBDatabase(str(tmp_path / "m.duckdb"), memory_limit="abc")
    assert not (tmp_path / "m.duckdb").exists()


def test_sql_auth_is_one_of_two_words():
    assert Settings.from_env({"SCOUT_SQL_AUTH": " SQL "})["SCOUT_SQL_AUTH"] == "sql"
    with pytest.raises(ConfigError, match="SCOUT_SQL_AUTH .*must be one of entra, sql"):
        Settings.from_env({"SCOUT_SQL_AUTH": "kerberos"})


@pytest.mark.parametrize(
    "name, raw",
    [("SCOUT_LOCK_TIMEOUT_SECONDS", "nan"), ("SCOUT_DUCKDB_MEMORY_LIMIT", "abc"), ("SCOUT_RETRY_ATTEMPTS", "0")],
)
def test_a_bad_setting_is_exit_2_with_one_line_naming_it(db_url, monkeypatch, capsys, name, raw):
    monkeypatch.setenv(name, raw)

    assert main(["migrate", "apply"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"scout: setting {name} has an invalid value")
    assert not Path(db_url.removeprefix("duckdb:///")).exists()


# -- a database file that does not exist -------------------------------------------------------------------


@pytest.fixture
def typo(tmp_path, monkeypatch) -> Path:
    """SCOUT_DATABASE_URL naming a file nobody created (a typo)."""
    path = tmp_path / "scuot.duckdb"
    monkeypatch.setenv("SCOUT_DATABASE_URL", f"duckdb:///{path}")
    return path


def test_connect_opens_an_existing_file_and_creates_one_only_when_asked(typo):
    with pytest.raises(NoDatabase, match=rf"^no database at {re.escape(str(typo))} \(run scout migrate apply first"):
        connect()
    assert not typo.exists()
    connect(create=True).close()
    assert typo.exists()
    connect().close()


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "list"],
        ["jobs", "show", "00000000-0000-0000-0000-000000000000"],
        ["migrate", "status"],
        ["migrate", "verify"],
        ["migrate", "undo", "--target", "0"],
        ["migrate", "baseline", "--version", "1"],
        ["personas", "infer"],
        ["demo", "seed"],
        ["montecarlo", "show", "x"],
        ["montecarlo", "run"],
    ],
)
def test_every_command_but_migrate_apply_says_there_is_no_database_and_creates_none(typo, capsys, argv):
    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err == f"scout: no database at {typo} (run scout migrate apply first, or fix SCOUT_DATABASE_URL)\n"
    assert not typo.exists()


def test_migrate_apply_creates_the_database(typo, capsys):
    assert main(["migrate", "apply"]) == 0
    assert typo.exists()
    assert main(["jobs", "list"]) == 0 and "migrations.apply" in capsys.readouterr().out


def test_over_http_a_missing_database_is_a_server_misconfiguration_naming_the_setting(typo, functions):
    for name, route in [
        ("job_status", {"run_id": "x"}),
        ("migrations_status", {}),
        ("montecarlo_status", {"run_id": "x"}),
    ]:
        status, body, _ = call_http(functions, name, route_params=route)
        assert (status, body["error"], body["settings"]) == (500, "configuration_error", ["SCOUT_DATABASE_URL"])
        assert f"no database at {typo}" in body["message"]
    status, body, _ = call_http(functions, "health")
    assert status == 503 and body["database"] == {"reachable": False, "error": "configuration_error"}
    assert not typo.exists()


def test_over_http_migrations_apply_creates_the_database(typo, functions):
    status, body, _ = call_http(functions, "migrations_apply", "POST", body='{"target": "1"}')
    assert status == 200 and body["applied_count"] == 1 and typo.exists()


# -- a file named like a schema ----------------------------------------------------------------------------


def migration_schemas() -> set[str]:
    """Every schema the migrations (and the ledger) create."""
    from scout.migrations.ledger import LEDGER_SCHEMA

    text = " ".join(p.read_text() for p in (ROOT / "sql" / "migrations").glob("V*.sql"))
    return {s.lower() for s in re.findall(r"CREATE\s+SCHEMA\s+\[?(\w+)", text, re.IGNORECASE)} | {LEDGER_SCHEMA, "dbo"}


def test_every_schema_of_the_migrations_is_a_reserved_file_name():
    assert migration_schemas() <= RESERVED_CATALOG_NAMES


@pytest.mark.parametrize(
    "name",
    [
        "scout.duckdb",
        "a.b.duckdb",
        "..x.duckdb",
        "noext",
        "Ref.duckdb",
        "ops",
        "results-2025.duckdb",
        "my.results.duckdb",
    ],
)
def test_catalog_name_is_the_name_duckdb_gives_the_file(tmp_path, name):
    con = duckdb.connect(str(tmp_path / name))
    try:
        assert con.execute("SELECT current_database()").fetchone()[0] == catalog_name(str(tmp_path / name))
    finally:
        con.close()


@pytest.mark.parametrize(
    "name",
    [
        "results.duckdb",
        "ref",
        "dbo.duckdb",
        "ops.db",
        "RESULTS.duckdb",
        "Ref.v2.duckdb",
        "..ops.duckdb",
        "information_schema.duckdb",
    ],
)
def test_a_database_file_named_like_a_schema_is_refused_before_it_is_created(tmp_path, monkeypatch, capsys, name):
    monkeypatch.setenv("SCOUT_DATABASE_URL", f"duckdb:///{tmp_path / name}")

    assert main(["migrate", "apply"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "collides with the schema" in err and "SCOUT_DATABASE_URL" in err
    assert not (tmp_path / name).exists()


def test_names_that_only_contain_a_schema_name_are_fine(tmp_path, monkeypatch):
    from scout.migrations import job

    monkeypatch.setenv("SCOUT_DATABASE_URL", f"duckdb:///{tmp_path / 'results-2025.duckdb'}")
    assert job.apply(trigger="cli")["pending"] == 0


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_a_database_path_that_cannot_be_a_file_is_a_configuration_error(tmp_path, monkeypatch, capsys, where):
    (tmp_path / "plain").write_text("x")
    path = tmp_path if where == "folder" else tmp_path / "plain" / "scout.duckdb"
    monkeypatch.setenv("SCOUT_DATABASE_URL", f"duckdb:///{path}")

    assert main(["migrate", "apply"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scout: SCOUT_DATABASE_URL: ")
