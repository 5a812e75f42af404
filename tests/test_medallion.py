"""Legacy → medallion on the embedded default: the legacy seed keeps every hazard, the backfill places every
legacy row (copied, or kept aside as an orphan with its reason), verify proves it key by key, contract puts
views with the legacy names over silver that answer exactly what the tables did, and both rollbacks give the
legacy tables back unchanged."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from scout.cli import main
from scout.config import Settings
from scout.db import connect
from scout.demo import legacy
from scout.errors import InvalidInput
from scout.jobs.runs import JobFailed, get_run
from scout.medallion import job
from scout.medallion.store import LEGACY_COLUMNS
from tests.conftest import call_http

SMALL = 20_000  # enough for every hazard to occur many times, fast enough for each test


@pytest.fixture
def seeded(migrated: Settings) -> Settings:
    legacy.seed_job(trigger="cli", transactions=SMALL, seed=7, settings=migrated)
    return migrated


@pytest.fixture
def backfilled(seeded: Settings) -> Settings:
    job.backfill(trigger="cli", batch_size=3000, settings=seeded)
    return seeded


def legacy_rows(settings: Settings, suffix: str = "") -> dict[str, list[tuple]]:
    """Every legacy table as a legacy query reads it: the legacy columns, in id order."""
    with connect(settings) as db:
        return {
            table: db.query(f"SELECT {', '.join(columns)} FROM legacy.{table}{suffix} ORDER BY id")
            for table, columns in LEGACY_COLUMNS.items()
        }


def table_kinds(settings: Settings) -> dict[str, str]:
    with connect(settings) as db:
        return {
            f"{s}.{t}": kind
            for s, t, kind in db.query(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_schema IN ('legacy', 'silver', 'gold') OR table_name LIKE 'medallion%'"
            )
        }


# -- the legacy seed ---------------------------------------------------------------------------------------


def test_the_legacy_seed_has_the_legacy_scale_and_every_hazard_counted_from_the_data() -> None:
    data = legacy.generate()  # the defaults: July 2025's scale
    geography = pd.DataFrame(data["legacy.geography"])
    organization = pd.DataFrame(data["legacy.organization"])
    tx = pd.DataFrame(data["legacy.transactions"])
    assert (len(tx), len(geography), len(organization)) == (376_212, 48, 43)
    assert geography["region"].dropna().nunique() == 18
    assert tx["id"].is_unique and tx["id"].is_monotonic_increasing

    no_store = tx["geography_id"].isna() | ~tx["geography_id"].isin(geography["id"])
    no_product = tx["organization_id"].isna() | ~tx["organization_id"].isin(organization["id"])
    brands = organization["brand"].dropna()
    hazards = legacy.hazards(data)
    assert hazards["transactions_without_store"] == int(no_store.sum()) > 1000
    assert hazards["transactions_without_product"] == int(no_product.sum()) > 1000
    assert hazards["orphan_transactions"] == int((no_store | no_product).sum())
    assert hazards["products_without_brand"] == int(organization["brand"].isna().sum()) == 3
    assert hazards["products_without_category"] == int(organization["category"].isna().sum()) == 2
    assert hazards["stores_without_region"] == int(geography["region"].isna().sum()) == 4
    # the same brand spelled with other case or trailing spaces: Coca-Cola x3, Nestle x3, Unilab x2
    assert hazards["brand_spelling_variants"] == brands.nunique() - brands.str.rstrip(" ").str.upper().nunique() == 5
    assert {"Coca-Cola", "COCA-COLA", "Coca-Cola "} <= set(brands)


def test_the_legacy_seed_is_deterministic_for_a_seed() -> None:
    one, again, other = legacy.transactions(5000, 1), legacy.transactions(5000, 1), legacy.transactions(5000, 2)
    assert all(np.array_equal(one[c], again[c]) for c in one)
    assert not np.array_equal(one["geography_id"], other["geography_id"])


def test_the_legacy_seed_refuses_a_filled_database_without_replace_and_replace_empties_silver(backfilled) -> None:
    with pytest.raises(InvalidInput, match="already hold 20,000"):
        legacy.seed_job(trigger="cli", transactions=100, settings=backfilled)
    legacy.seed_job(trigger="cli", transactions=100, seed=3, replace=True, settings=backfilled)
    with connect(backfilled) as db:
        assert db.query_one("SELECT COUNT(*) FROM legacy.transactions")[0] == 100
        assert db.query_one("SELECT COUNT(*) FROM silver.transactions")[0] == 0
        assert db.query_one("SELECT COUNT(*) FROM ops.medallion_checkpoints")[0] == 0


def test_seeding_the_legacy_tables_of_azure_sql_is_refused_before_connecting(monkeypatch, capsys) -> None:
    import sys

    from tests.fakes.fake_pyodbc import FakePyodbc

    fake = FakePyodbc()
    monkeypatch.setitem(sys.modules, "pyodbc", fake)
    monkeypatch.setenv("SCOUT_DATABASE_URL", "mssql://scout-sql.database.windows.net/scout")
    assert main(["demo", "seed", "--legacy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "embedded DuckDB database" in err[0]
    assert fake.server.logins == [] and fake.server.log == []


def test_scout_demo_seed_legacy_from_the_command_line(migrated, capsys) -> None:
    assert main(["demo", "seed", "--legacy", "--transactions", "500", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == {"legacy.geography": 48, "legacy.organization": 43, "legacy.transactions": 500}


# -- backfill and verify ---------------------------------------------------------------------------------


def test_verify_reports_every_hazard_with_its_exact_count(seeded) -> None:
    with connect(seeded) as db:
        geography = pd.DataFrame(db.query_dicts("SELECT id, region FROM legacy.geography"))
        organization = pd.DataFrame(db.query_dicts("SELECT id, brand, category FROM legacy.organization"))
        tx = pd.DataFrame(db.query_dicts("SELECT id, geography_id, organization_id FROM legacy.transactions"))
    no_store = tx["geography_id"].isna() | ~tx["geography_id"].isin(geography["id"])
    no_product = tx["organization_id"].isna() | ~tx["organization_id"].isin(organization["id"])

    job.backfill(trigger="cli", settings=seeded)
    report = job.verify(trigger="cli", settings=seeded)

    assert report["passed"] is True
    assert report["orphans"] == {
        "transactions_without_store": int(no_store.sum()),
        "transactions_without_product": int(no_product.sum()),
    }
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["orphans"]["kept_aside"] == int((no_store | no_product).sum())
    reasons = checks["orphans"]["by_reason"]
    assert sum(n for r, n in reasons.items() if "store" in r) == int(no_store.sum())
    assert sum(n for r, n in reasons.items() if "product" in r) == int(no_product.sum())
    assert reasons["store_id_null"] + sum(n for r, n in reasons.items() if r.startswith("store_id_null ")) == int(
        tx["geography_id"].isna().sum()
    )
    assert checks["counts:transactions"]["silver"] == SMALL - int((no_store | no_product).sum())
    assert checks["hash:transactions"]["legacy_rows"] == checks["hash:transactions"]["silver_rows"] == SMALL
    with connect(seeded) as db:
        assert db.query_one("SELECT COUNT(*) FROM silver.products WHERE brand_key IS NULL")[0] == 3
        assert db.query_one("SELECT COUNT(*) FROM silver.products WHERE category_key IS NULL")[0] == 2
        assert db.query_one("SELECT COUNT(*) FROM silver.stores WHERE region IS NULL")[0] == 4
        brands = {r[0]: r[1:] for r in db.query("SELECT brand_key, brand_name, spellings, products FROM silver.brands")}
        kept = db.query("SELECT brand FROM silver.products WHERE brand_key = 'COCA-COLA' ORDER BY product_id")
    assert len(brands) == organization["brand"].dropna().str.rstrip(" ").str.upper().nunique()
    # most frequent spelling wins ("Coca-Cola" twice once trailing spaces go), the tie breaks binary-smallest
    assert brands["COCA-COLA"] == ("Coca-Cola", 3, 3) and brands["NESTLE"] == ("Nestle", 3, 3)
    assert brands["UNILAB"] == ("UNILAB", 2, 2)
    assert kept == [("Coca-Cola",), ("COCA-COLA",), ("Coca-Cola ",)]  # every product keeps its own text


def silver_contents(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as db:
        return {
            "transactions": db.query(
                "SELECT transaction_id, store_id, transaction_ts FROM silver.transactions ORDER BY 1"
            ),
            "items": db.query("SELECT * FROM silver.transaction_items ORDER BY transaction_id, line_no"),
            "orphans": db.query(
                "SELECT source_table, source_id, reason, geography_id, organization_id, transaction_ts, quantity, "
                "peso_value FROM silver.orphans ORDER BY source_id"
            ),
            "products": db.query("SELECT product_id, brand_key, category_key FROM silver.products ORDER BY 1"),
            "brands": db.query("SELECT * FROM silver.brands ORDER BY 1"),
            "checkpoints": db.query(
                "SELECT entity, last_id, copied, orphans FROM ops.medallion_checkpoints ORDER BY entity"
            ),
        }


def test_a_backfill_stopped_after_some_batches_resumes_and_a_rerun_adds_nothing(seeded, tmp_path) -> None:
    first = job.backfill(trigger="cli", batch_size=1000, stop_after=3, settings=seeded)
    assert first["transactions"]["batches"] == 3
    with connect(seeded) as db:
        assert db.query_one("SELECT COUNT(*) FROM silver.transactions")[0] < 3000
        assert (
            db.query_one("SELECT completed_at FROM ops.medallion_checkpoints WHERE entity = 'transactions'")[0] is None
        )
    rest = job.backfill(trigger="cli", batch_size=1000, settings=seeded)
    assert rest["transactions"]["batches"] == SMALL // 1000 + (SMALL % 1000 > 0) - 3 + (SMALL % 1000 == 0) * 0
    resumed = silver_contents(seeded)

    again = job.backfill(trigger="cli", batch_size=1000, settings=seeded)
    assert again["transactions"] == {"batches": 0, "copied": 0, "orphans": 0}
    assert again["brands"]["added"] == 0 and silver_contents(seeded) == resumed

    other = Settings.from_env({}, SCOUT_DATABASE_URL=f"duckdb:///{tmp_path / 'other.duckdb'}")
    from scout.migrations import job as migrations

    migrations.apply(trigger="cli", settings=other)
    legacy.seed_job(trigger="cli", transactions=SMALL, seed=7, settings=other)
    job.backfill(trigger="cli", batch_size=4000, settings=other)
    uninterrupted = silver_contents(other)
    assert resumed["transactions"] == uninterrupted["transactions"] and resumed["orphans"] == uninterrupted["orphans"]
    assert resumed["items"] == uninterrupted["items"] and resumed["brands"] == uninterrupted["brands"]


def test_a_second_backfill_or_a_contract_waits_for_the_running_one_then_gives_up(seeded, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SCOUT_LOCK_TIMEOUT_SECONDS", "0.2")
    with connect(seeded) as db, db.application_lock(job.STEPS_LOCK, 1):
        assert main(["medallion", "backfill"]) == 3
        assert main(["medallion", "contract"]) == 3
    assert capsys.readouterr().err.count("another run holds the 'scout-medallion' lock") == 2
    with connect(seeded) as db:
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE job LIKE 'medallion.%'")[0] == 0


def test_batch_size_out_of_range_is_refused_before_anything_runs(seeded, capsys) -> None:
    assert main(["medallion", "backfill", "--batch-size", "5000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "5,000-lock escalation" in err[0]
    with connect(seeded) as db:
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE job = 'medallion.backfill'")[0] == 0


def test_verify_fails_on_a_changed_column_as_a_failed_run_with_the_alert_event(backfilled, caplog, capsys) -> None:
    with connect(backfilled) as db:
        row = db.query_one("SELECT MIN(transaction_id) FROM silver.transaction_items")
        db.execute("UPDATE silver.transaction_items SET peso_value = peso_value + 1 WHERE transaction_id = ?", row)

    caplog.set_level(logging.INFO, logger="scout.events")
    assert main(["medallion", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False
    failed = {c["name"]: c for c in report["checks"] if not c["passed"]}
    assert list(failed) == ["hash:transactions"]
    assert failed["hash:transactions"]["different"] == 1 and failed["hash:transactions"]["sample_ids"] == [row[0]]
    with connect(backfilled) as db:
        run = get_run(db, report["run_id"])
    assert run["status"] == "failed" and "hash:transactions" in run["error"]
    finished = [r for r in caplog.records if getattr(r, "event", "") == "scout.job.finished"]
    assert finished[-1].outcome == "failed" and finished[-1].job == "medallion.verify"


def test_verify_fails_when_the_backfill_has_not_placed_every_row(seeded) -> None:
    job.backfill(trigger="cli", batch_size=1000, stop_after=2, settings=seeded)
    with pytest.raises(JobFailed) as failed:
        job.verify(trigger="cli", settings=seeded)
    names = {c["name"] for c in failed.value.summary["checks"] if not c["passed"]}
    assert {"counts:transactions", "hash:transactions", "backfill_complete"} <= names


# -- contract and rollback -------------------------------------------------------------------------------------


def test_contract_refuses_on_a_failing_verify_and_changes_nothing(backfilled, capsys) -> None:
    with connect(backfilled) as db:
        db.execute("DELETE FROM silver.orphans WHERE source_id = (SELECT MIN(source_id) FROM silver.orphans)")
    before, kinds = legacy_rows(backfilled), table_kinds(backfilled)

    assert main(["medallion", "contract"]) == 1
    assert "contract refused: verify did not pass (counts:transactions, orphans, hash:transactions" in (
        capsys.readouterr().err
    )
    assert table_kinds(backfilled) == kinds and kinds["legacy.geography"] == "BASE TABLE"
    assert legacy_rows(backfilled) == before


def test_compat_views_answer_exactly_what_the_legacy_tables_did(backfilled) -> None:
    before = legacy_rows(backfilled)
    result = job.contract(trigger="cli", settings=backfilled)
    assert result["contracted"] is True

    kinds = table_kinds(backfilled)
    assert {kinds[f"legacy.{t}"] for t in LEGACY_COLUMNS} == {"VIEW"}
    assert {kinds[f"legacy.{t}_pre_medallion"] for t in LEGACY_COLUMNS} == {"BASE TABLE"}
    assert legacy_rows(backfilled) == before  # row for row, every column
    assert legacy_rows(backfilled, "_pre_medallion") == before
    with connect(backfilled) as db:
        assert (
            db.query("SELECT id, store_name, region, city, barangay FROM legacy.geography ORDER BY id")
            == (before["geography"])
        )
    report = job.verify(trigger="cli", settings=backfilled)  # the views checked by hash against the tables kept
    health = job.health(settings=backfilled)
    assert health["contracted"] is True and health["drop_legacy_after"] > health["last_verify"]["at"]
    views = [c for c in report["checks"] if c["name"].startswith("compat_view:")]
    assert len(views) == 3 and all(c["passed"] and c["missing"] == c["different"] == 0 for c in views)
    assert views[-1]["legacy_rows"] == SMALL
    with pytest.raises(InvalidInput, match="already contracted"):
        job.contract(trigger="cli", settings=backfilled)
    with pytest.raises(InvalidInput, match="contracted"):
        job.backfill(trigger="cli", settings=backfilled)


def test_quick_rollback_gives_the_legacy_tables_back_and_switches_the_refresh_off(backfilled) -> None:
    before, kinds = legacy_rows(backfilled), table_kinds(backfilled)
    job.contract(trigger="cli", settings=backfilled)
    result = job.rollback(trigger="cli", settings=backfilled)

    assert result["legacy_tables_restored"] is True and result["refresh"] is False
    assert table_kinds(backfilled) == kinds and legacy_rows(backfilled) == before
    assert job.refresh(trigger="cli", settings=backfilled)["skipped"] is True
    assert job.refresh(trigger="cli", enable=True, settings=backfilled)["skipped"] is False


def test_full_rollback_restores_the_pre_medallion_state_and_migrate_apply_brings_it_back(seeded, capsys) -> None:
    from scout.migrations import job as migrations

    before = legacy_rows(seeded)
    pre_medallion = {name for name in table_kinds(seeded) if name.startswith("legacy.")}
    job.backfill(trigger="cli", settings=seeded)
    job.contract(trigger="cli", settings=seeded)

    assert main(["medallion", "rollback", "--full", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["undone"] == ["U033__gold_daily.sql", "U032__medallion_bookkeeping.sql", "U031__silver_layer.sql"]
    assert set(table_kinds(seeded)) == pre_medallion and legacy_rows(seeded) == before
    pending = [m["version"] for m in migrations.status(seeded)["pending"]]
    assert pending == ["31", "32", "33"]
    migrations.apply(trigger="cli", settings=seeded)
    assert job.backfill(trigger="cli", settings=seeded)["transactions"]["copied"] > 0


# -- the HTTP routes ----------------------------------------------------------------------------------------


def test_the_verify_and_health_routes(backfilled, functions) -> None:
    status, body, _ = call_http(functions, "medallion_verify", "POST", body=b"{}")
    assert status == 200 and body["passed"] is True
    assert set(body["orphans"]) == {"transactions_without_store", "transactions_without_product"}
    status, bad, _ = call_http(functions, "medallion_refresh", "POST", body=b'{"lookback_days": -1}')
    assert status == 400 and "lookback-days" in bad["message"]
    status, health, _ = call_http(functions, "medallion_health")
    assert status == 200 and health["last_verify"]["passed"] is True
    assert health["layers"]["silver"]["rows"]["orphans"] > 0

    with connect(backfilled) as db:
        db.execute("UPDATE silver.transaction_items SET quantity = quantity + 1 WHERE transaction_id = 1000001")
    status, body, _ = call_http(functions, "medallion_verify", "POST", body=b"{}")
    assert status == 200 and body["passed"] is False and body["run_id"]


def test_the_timers_record_their_runs_and_a_failing_nightly_verify_is_a_failed_run(backfilled, functions) -> None:
    import types

    context = types.SimpleNamespace(invocation_id="timer-invocation")
    functions["medallion_refresh_timer"].get_user_function()(timer=None, context=context)
    with connect(backfilled) as db:
        db.execute("DELETE FROM silver.orphans WHERE source_id = (SELECT MIN(source_id) FROM silver.orphans)")
    functions["medallion_verify_nightly"].get_user_function()(timer=None, context=context)  # does not raise
    with connect(backfilled) as db:
        runs = dict(
            db.query("SELECT job, status FROM ops.job_runs WHERE trigger_type = 'timer' AND job LIKE 'medallion.%'")
        )
        assert db.query_one("SELECT COUNT(*) FROM gold.daily_sales WHERE source_name = 'legacy'")[0] > 0
    assert runs == {"medallion.refresh": "succeeded", "medallion.verify": "failed"}
