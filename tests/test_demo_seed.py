"""`scout demo seed`: synthetic data for the embedded database only, and a new seed never mixes with the old.

In production the source objects belong to ingestion (dbo.v_insight_base is a view there): demo data must
never reach Azure SQL. A fake pyodbc stands at the driver edge, so a seed that went ahead would be seen
logging in and writing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scout.cli import main
from scout.config import Settings
from scout.db import connect
from scout.demo import job as demo
from scout.errors import InvalidInput
from scout.exports import job as exports
from scout.personas import job as personas
from tests.fakes.azure_wire import FakeEntraCredential
from tests.fakes.fake_pyodbc import FakePyodbc

AZURE_SQL = "mssql://scout-sql.database.windows.net/scout"


@pytest.fixture
def azure_sql(monkeypatch) -> FakePyodbc:
    """An Azure SQL behind a fake pyodbc, reachable with an Entra token: nothing stops a seed but the seed."""
    fake = FakePyodbc()
    monkeypatch.setitem(sys.modules, "pyodbc", fake)
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **kw: FakeEntraCredential())
    monkeypatch.setenv("SCOUT_DATABASE_URL", AZURE_SQL)
    monkeypatch.setenv("SCOUT_RETRY_ATTEMPTS", "1")
    return fake


@pytest.mark.parametrize("argv", [["demo", "seed"], ["demo", "seed", "--replace", "--transactions", "10"]])
def test_seeding_azure_sql_is_refused_before_connecting(azure_sql, capsys, argv):
    assert main(argv) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "embedded DuckDB database" in err[0] and "mssql://scout-sql" in err[0]
    assert azure_sql.server.logins == [] and azure_sql.server.log == []


def test_scout_run_skips_the_demo_seed_on_azure_sql_without_connecting(azure_sql):
    result = demo.seed(trigger="cli", only_if_empty=True)
    assert result["skipped"] is True and "embedded" in result["reason"]
    assert azure_sql.server.logins == []


def test_the_seed_functions_refuse_any_database_but_the_embedded_one(azure_sql):
    from scout.demo.seed import clear_sources, seed_demo

    with connect(Settings.from_env()) as db:
        assert db.dialect != "duckdb"
        for attempt in (lambda: seed_demo(db, transactions=10), lambda: clear_sources(db)):
            with pytest.raises(InvalidInput, match="embedded DuckDB database"):
                attempt()
    assert azure_sql.server.statements("INSERT|DELETE|UPDATE|MERGE") == []


# -- --replace -------------------------------------------------------------------------------------------


def derived_state(settings: Settings) -> dict[str, list]:
    """Everything the jobs derived from the source rows, and the export sheet, in a comparable form."""
    with connect(settings) as db:
        return {
            "personas": db.query(
                "SELECT canonical_tx_id, role, confidence, reasons, rules_checksum "
                "FROM ref.transaction_personas ORDER BY canonical_tx_id"
            ),
            "baskets": db.query(
                "SELECT canonical_tx_id, primary_product, category, brand, other_products "
                "FROM ref.transaction_baskets ORDER BY canonical_tx_id"
            ),
            "sheet": db.query("SELECT * FROM dbo.v_flat_export_sheet ORDER BY Transaction_ID"),
        }


def test_a_replacing_seed_leaves_what_a_fresh_database_with_that_seed_has(migrated, tmp_path):
    # seeds 42 and 1042 give the same transaction ids (TX042-...): the second reuses the first's ids,
    # and is smaller, so some of the first's transactions are gone altogether
    demo.seed(trigger="cli", transactions=900, seed=42, settings=migrated)
    personas.infer(trigger="cli", settings=migrated)
    exports.export_flat(trigger="cli", settings=migrated)

    demo.seed(trigger="cli", transactions=700, seed=1042, replace=True, settings=migrated)
    personas.infer(trigger="cli", settings=migrated)
    exports.export_flat(trigger="cli", settings=migrated)

    from scout.migrations import job as migrations

    fresh = Settings.from_env(
        {
            "SCOUT_DATABASE_URL": f"duckdb:///{tmp_path / 'fresh.duckdb'}",
            "SCOUT_EXPORT_DESTINATION": str(tmp_path / "fresh-exports"),
        }
    )
    migrations.apply(trigger="cli", settings=fresh)
    demo.seed(trigger="cli", transactions=700, seed=1042, settings=fresh)
    personas.infer(trigger="cli", settings=fresh)
    exports.export_flat(trigger="cli", settings=fresh)

    replaced, expected = derived_state(migrated), derived_state(fresh)
    assert len(expected["personas"]) == len(expected["baskets"]) == len(expected["sheet"]) == 700
    assert replaced == expected


def source_counts_and_runs(settings: Settings) -> tuple[dict[str, int], list[tuple]]:
    """Rows per source table, and every recorded job run (job, status)."""
    from scout.demo.seed import SOURCE_TABLES

    with connect(settings) as db:
        counts = {table: db.query_one(f"SELECT COUNT(*) FROM {table}")[0] for table in SOURCE_TABLES}
        runs = db.query("SELECT job, status FROM ops.job_runs ORDER BY started_at")
    return counts, runs


def test_seeding_over_existing_data_without_replace_is_exit_2_and_not_a_failed_run(migrated, capsys):
    demo.seed(trigger="cli", transactions=50, seed=1, settings=migrated)
    before = source_counts_and_runs(migrated)

    assert main(["demo", "seed", "--transactions", "50"]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already hold 50 transactions: use --replace" in err[0]
    assert source_counts_and_runs(migrated) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--transactions", "10", "--seed", "-1", "--replace"], "--seed must be a whole number from 0"),
        (["--transactions", "10", "--seed", str(2**63), "--replace"], "--seed must be a whole number from 0"),
        (["--transactions", "0", "--replace"], "--transactions must be a whole number from 1"),
        (["--transactions", "20000001", "--replace"], "--transactions must be a whole number from 1"),
        (["--transactions", "10", "--transcript-share", "1.5", "--replace"], "--transcript-share must be a number"),
        (["--transactions", "10", "--transcript-share", "nan", "--replace"], "--transcript-share must be a number"),
        (["--transactions", "10", "--observed-share", "-0.1", "--replace"], "--observed-share must be a number"),
    ],
)
def test_a_replacing_seed_with_bad_numbers_keeps_the_data_and_exits_2(migrated, capsys, argv, message):
    demo.seed(trigger="cli", transactions=120, seed=7, settings=migrated)
    before = source_counts_and_runs(migrated)
    assert before[0]["dbo.Transactions"] == 120

    assert main(["demo", "seed", *argv]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]  # the error alone: no "generating ..." progress before it
    assert source_counts_and_runs(migrated) == before  # nothing deleted, no failed run recorded


def test_seeding_a_database_that_does_not_exist_says_so_and_creates_nothing(db_url, capsys):
    path = db_url.removeprefix("duckdb:///")

    assert main(["demo", "seed", "--transactions", "10"]) == 2

    assert "no database at" in capsys.readouterr().err and not Path(path).exists()


def test_seeding_a_database_that_was_never_migrated_asks_for_migrate_apply(db_url, capsys):
    from scout.db.duckdb_backend import DuckDBDatabase

    DuckDBDatabase(db_url.removeprefix("duckdb:///")).close()  # the file exists, the tables do not

    assert main(["demo", "seed", "--transactions", "10"]) == 2

    assert "has no source tables: run scout migrate apply first" in capsys.readouterr().err


# -- what the seeder knows: transcripts as a parameter, the latent persona, staff-observed roles -----------


def interaction_shares(settings: Settings) -> tuple[float, int]:
    """The share of interactions with a transcript, and the number of transactions."""
    with connect(settings) as db:
        share = db.query_one(
            "SELECT AVG(CASE WHEN TranscriptionText IS NULL THEN 0.0 ELSE 1.0 END) FROM dbo.SalesInteractions"
        )[0]
        return float(share), db.query_one("SELECT COUNT(*) FROM dbo.Transactions")[0]


@pytest.mark.parametrize("share", [0.0, 0.2, 0.8])
def test_the_share_of_interactions_with_a_transcript_is_a_parameter(migrated, share):
    demo.seed(trigger="cli", transactions=4000, seed=3, transcript_share=share, settings=migrated)

    measured, _ = interaction_shares(migrated)
    assert abs(measured - share) < 0.02


def test_by_default_four_in_ten_interactions_have_a_transcript(migrated):
    demo.seed(trigger="cli", transactions=4000, seed=3, settings=migrated)
    assert abs(interaction_shares(migrated)[0] - 0.4) < 0.02


def test_the_transcript_share_flag_reaches_the_seed(migrated):
    assert main(["demo", "seed", "--transactions", "500", "--transcript-share", "0"]) == 0
    assert interaction_shares(migrated) == (0.0, 500)


def test_every_shopper_s_latent_persona_is_kept_and_staff_observe_it_on_part_of_them(migrated):
    demo.seed(trigger="cli", transactions=6000, seed=8, observed_share=0.25, settings=migrated)

    with connect(migrated) as db:
        latent = dict(db.query("SELECT canonical_tx_id, persona FROM ref.demo_latent_personas"))
        observed = db.query(
            "SELECT canonical_tx_id, EmotionalState FROM dbo.SalesInteractions "
            "WHERE EmotionalState IN (SELECT role_name FROM ref.persona_rules) OR EmotionalState = 'Regular'"
        )
        names = {r[0] for r in db.query("SELECT role_name FROM ref.persona_rules")}
    assert len(latent) == 6000 and set(latent.values()) == names | {"Regular"}
    assert all(latent[tx] == role for tx, role in observed)  # what staff saw is the shopper's persona
    assert 0.22 < len(observed) / 6000 < 0.28  # on a quarter of them, Regulars included
    assert {role for _tx, role in observed} == names | {"Regular"}


def test_resellers_mostly_buy_at_least_their_rule_s_basket_size(migrated):
    demo.seed(trigger="cli", transactions=6000, seed=8, settings=migrated)
    with connect(migrated) as db:
        share = db.query_one(
            "SELECT AVG(CASE WHEN t.total_items >= 5 THEN 1.0 ELSE 0.0 END) FROM dbo.Transactions AS t "
            "JOIN ref.demo_latent_personas AS l ON l.canonical_tx_id = t.canonical_tx_id WHERE l.persona = 'Reseller'"
        )[0]
    assert float(share) > 0.65


def test_a_replacing_seed_replaces_the_latent_personas_too(migrated):
    demo.seed(trigger="cli", transactions=300, seed=1, settings=migrated)
    demo.seed(trigger="cli", transactions=200, seed=1001, replace=True, settings=migrated)
    with connect(migrated) as db:
        assert db.query_one("SELECT COUNT(*) FROM ref.demo_latent_personas")[0] == 200
