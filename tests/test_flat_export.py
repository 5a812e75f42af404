"""The flat export: one row per transaction, exactly, in the sheet's formats — validated before anyone sees it."""

import json
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scout.db import connect
from scout.exports import job as export_job
from scout.exports.baskets import summarize
from scout.jobs.runs import JobFailed
from scout.personas.job import infer_in

EXPORTS = Path(".scout/exports/flat")  # relative to the test's own working folder


@pytest.fixture
def db(migrated):
    with connect(migrated) as database:
        yield database


def add_tx(db, tx_id, ts, items, interactions=(), insights=(), store=1):
    total = sum(q * p for _, _, _, q, p in items)
    db.execute(
        "INSERT INTO dbo.Transactions VALUES (?, ?, ?, ?, ?)",
        (tx_id, store, datetime.fromisoformat(ts), total, sum(i[3] for i in items)),
    )
    for line, (name, brand, category, qty, price) in enumerate(items, start=1):
        db.execute(
            "INSERT INTO dbo.TransactionItems VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tx_id, line, name, brand, category, qty, price),
        )
    for n, (when, age, gender, state, text) in enumerate(interactions):
        db.execute(
            "INSERT INTO dbo.SalesInteractions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f"{tx_id}-i{n}",
                tx_id,
                store,
                None if when is None else datetime.fromisoformat(when),
                age,
                gender,
                state,
                text,
            ),
        )
    for flag in insights:
        db.execute("INSERT INTO dbo.v_insight_base VALUES (?, ?)", (tx_id, flag))


@pytest.fixture
def sheet_data(db):
    db.execute("INSERT INTO dbo.Stores VALUES (1, 'Aling Niña''s Sari-Sari', 'NCR', 'Quezon City')")
    noodles = ("Lucky Me Pancit Canton", "Lucky Me", "Instant Noodles", 2, 16)
    coke = ("Coke Mismo", "Coke", "Soft Drinks", 1, 20)
    chips = ("Piattos Cheese", "Piattos", "Snacks", 1, 20)
    # morning student with two interactions (fan-out hazard) and two insight rows
    add_tx(
        db,
        "T1",
        "2025-09-06 07:05",
        [noodles, coke, chips],
        [("2025-09-06 07:06", 16, "Male", None, "papasok sa eskwela po"), ("2025-09-06 07:07", 16, "Male", None, None)],
        ["1", "0"],
    )
    # midnight, weekday, interaction time wins over txn_ts, unknown gender, explicit role
    add_tx(db, "T2", "2025-09-08 23:50", [coke], [("2025-09-09 00:10", 30, None, "Night-Shift Worker", None)], ["0"])
    # noon, no interactions, no insights: Regular, unknown demographics and substitution
    add_tx(db, "T3", "2025-09-09 12:30", [chips])
    # an evening 70-year-old woman
    add_tx(db, "T4", "2025-09-09 19:15", [chips], [(None, 70, "Female", None, None)])
    infer_in(db)


def sheet(db) -> dict:
    summarize(db, [])  # what the export job does first
    columns, chunks = db.stream("SELECT * FROM dbo.v_flat_export_sheet")
    return {row[0]: dict(zip(columns, row)) for chunk in chunks for row in chunk}


def test_the_sheet_has_the_twelve_columns_in_order(db, sheet_data):
    columns, _ = db.stream("SELECT * FROM dbo.v_flat_export_sheet")
    assert columns == [
        "Transaction_ID",
        "Transaction_Value",
        "Basket_Size",
        "Category",
        "Brand",
        "Daypart",
        "Demographics (Age/Gender/Role)",
        "Weekday_vs_Weekend",
        "Time of transaction",
        "Location",
        "Other_Products",
        "Was_Substitution",
    ]


def test_each_column_has_the_sheet_format(db, sheet_data):
    rows = sheet(db)
    t1, t2, t3, t4 = rows["T1"], rows["T2"], rows["T3"], rows["T4"]
    assert (float(t1["Transaction_Value"]), t1["Basket_Size"], t1["Category"], t1["Brand"]) == (
        72.0,
        4,
        "Instant Noodles",
        "Lucky Me",
    )
    assert (t1["Daypart"], t1["Time of transaction"], t1["Weekday_vs_Weekend"]) == ("Morning", "7AM", "Weekend")
    assert t1["Demographics (Age/Gender/Role)"] == "Male Student"  # 16: no bracket below 18
    assert t1["Other_Products"] == "Coke Mismo; Piattos Cheese" and t1["Was_Substitution"] is True
    assert (t2["Daypart"], t2["Time of transaction"], t2["Weekday_vs_Weekend"]) == ("Night", "12AM", "Weekday")
    assert t2["Demographics (Age/Gender/Role)"] == "25-34 Night-Shift Worker" and t2["Was_Substitution"] is False
    assert (t3["Time of transaction"], t3["Daypart"], t3["Demographics (Age/Gender/Role)"]) == ("12PM", "Afternoon", "")
    assert t3["Was_Substitution"] is None and t3["Other_Products"] == "" and t3["Location"] == "Aling Niña's Sari-Sari"
    assert (t4["Time of transaction"], t4["Daypart"], t4["Demographics (Age/Gender/Role)"]) == (
        "7PM",
        "Evening",
        "65+ Female",
    )


def test_planted_duplicates_never_change_the_row_count(migrated, db, sheet_data):
    for n in range(5):
        db.execute("INSERT INTO dbo.SalesInteractions VALUES (?, 'T3', 1, NULL, 40, 'Male', NULL, 'dup')", (f"dup{n}",))
        db.execute("INSERT INTO dbo.v_insight_base VALUES ('T3', '1')")
    result = export_job.export_in(db, migrated, "run-dupes-0000")
    assert result["acceptance"] == ["base transactions: 4", "export rows: 4", "unique Transaction_IDs: 4", "PASSED"]


def test_export_publishes_csv_parquet_and_manifest_then_moves_latest(migrated, sheet_data):
    result = export_job.export_flat(trigger="cli", settings=migrated)

    latest = json.loads((EXPORTS / "latest.json").read_text())
    folder = EXPORTS / latest["folder"]
    assert latest["counts"] == {"base_transactions": 4, "export_rows": 4, "unique_transaction_ids": 4}
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "scout_flat_export.csv",
        "scout_flat_export.parquet",
    ]
    raw = (folder / "scout_flat_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Aling Niña's Sari-Sari".encode() in raw
    table = pq.read_table(folder / "scout_flat_export.parquet")
    assert str(table.schema.field("Transaction_Value").type) == "decimal128(18, 2)"
    assert str(table.schema.field("Basket_Size").type) == "int32"
    assert str(table.schema.field("Was_Substitution").type) == "bool"
    import hashlib

    assert latest["files"]["scout_flat_export.csv"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert result["passed"] is True


def test_the_csv_reads_back_in_excel_encoding_with_filipino_names(migrated, sheet_data):
    import pandas as pd

    export_job.export_flat(trigger="cli", settings=migrated, formats="csv")
    latest = json.loads((EXPORTS / "latest.json").read_text())
    frame = pd.read_csv(
        EXPORTS / latest["folder"] / "scout_flat_export.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    assert list(frame.columns)[6] == "Demographics (Age/Gender/Role)"
    assert set(frame["Location"]) == {"Aling Niña's Sari-Sari"}
    assert dict(zip(frame["Transaction_ID"], frame["Was_Substitution"])) == {
        "T1": "true",
        "T2": "false",
        "T3": "",
        "T4": "",
    }


def test_a_relation_that_loses_uniqueness_is_caught_and_nothing_is_published(migrated, db, sheet_data):
    first = export_job.export_flat(trigger="cli", settings=migrated)
    before = (EXPORTS / "latest.json").read_text()
    # someone "simplifies" the view and joins interactions straight onto transactions
    db.execute("""CREATE OR REPLACE VIEW dbo.v_flat_export_sheet AS
        SELECT f.canonical_tx_id AS Transaction_ID, f.total_amount AS Transaction_Value, f.total_items AS Basket_Size,
               f.category AS Category, f.brand AS Brand, f.daypart AS Daypart, '' AS "Demographics (Age/Gender/Role)",
               f.weekday_weekend AS Weekday_vs_Weekend, '' AS "Time of transaction", f.store_name AS Location,
               '' AS Other_Products, NULL AS Was_Substitution
        FROM dbo.v_transactions_flat_production f JOIN dbo.SalesInteractions si ON si.canonical_tx_id = f.canonical_tx_id""")

    with pytest.raises(JobFailed, match="duplicate Transaction_ID") as failure:
        export_job.export_flat(trigger="cli", settings=migrated)

    assert failure.value.summary["acceptance"][-1] == "FAILED"
    assert (EXPORTS / "latest.json").read_text() == before
    assert sorted(p.name for p in EXPORTS.iterdir() if not p.name.startswith(".")) == sorted(
        [json.loads(before)["folder"], "latest.json"]
    )
    assert not [p for p in EXPORTS.iterdir() if p.name.startswith(".staging")]
    run = db.query_one("SELECT status, error FROM ops.job_runs WHERE job = 'exports.flat' ORDER BY started_at DESC")
    assert run[0] == "failed" and "duplicate Transaction_ID" in run[1]
    assert first["passed"]


def test_a_connection_dropped_mid_stream_publishes_nothing_and_keeps_the_previous_export(
    migrated, sheet_data, monkeypatch
):
    export_job.export_flat(trigger="cli", settings=migrated)
    before = (EXPORTS / "latest.json").read_text()
    monkeypatch.setattr(export_job, "BATCH_ROWS", 1)
    from scout.db.duckdb_backend import DuckDBDatabase

    real = DuckDBDatabase.stream_arrow

    def dropping(self, *args, **kwargs):
        for n, batch in enumerate(real(self, *args, **kwargs)):
            if n == 2:
                self.connection.close()  # the connection goes away under the stream
            yield batch

    monkeypatch.setattr(DuckDBDatabase, "stream_arrow", dropping)
    with pytest.raises(JobFailed):
        export_job.export_flat(trigger="cli", settings=migrated)
    assert (EXPORTS / "latest.json").read_text() == before
    assert len([p for p in EXPORTS.iterdir() if not p.name.startswith(".")]) == 2


def test_limit_exports_the_first_n_transactions_by_id(migrated, sheet_data):
    result = export_job.export_flat(trigger="cli", settings=migrated, limit=2, formats=["parquet"])
    latest = json.loads((EXPORTS / "latest.json").read_text())
    ids = pq.read_table(EXPORTS / latest["folder"] / "scout_flat_export.parquet")["Transaction_ID"].to_pylist()
    assert ids == ["T1", "T2"] and result["files"] == ["scout_flat_export.parquet"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"formats": "xlsx"}, "format must be"),
        ({"limit": 0}, "limit must be a positive whole number"),
        ({"limit": -1}, "limit must be a positive whole number"),
        ({"limit": 10**30}, "limit must be a positive whole number, at most 9223372036854775807"),
        ({"limit": 2.5}, "limit must be a positive whole number"),
        ({"out": "ftp://x/y"}, "--out must be a folder or an https://"),
        ({"out": "/dev/null/x"}, "--out /dev/null/x: /dev/null is not a folder"),
        ({"out": "  "}, "--out must be a folder or a blob container URL, not empty"),
        ({"out": "http://127.0.0.1:1/account"}, "emulator blob URL needs /<account>/<container>"),
    ],
)
def test_bad_options_are_refused_before_anything_is_recorded_or_written(migrated, kwargs, message):
    from scout.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        export_job.export_flat(trigger="cli", settings=migrated, **kwargs)

    with connect(migrated) as db:
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE job = 'exports.flat'")[0] == 0
    assert not Path(".scout").exists()


def test_a_destination_under_a_file_is_refused_before_any_work(migrated, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    from scout.errors import InvalidInput

    with pytest.raises(InvalidInput, match=f"{blocker} is not a folder"):
        export_job.export_flat(trigger="cli", settings=migrated, out=str(blocker / "exports"))


def test_a_bad_export_destination_setting_is_a_configuration_error(migrated, monkeypatch):
    from scout.config import ConfigError, Settings

    monkeypatch.setenv("SCOUT_EXPORT_DESTINATION", "ftp://exports.example/flat")
    with pytest.raises(ConfigError, match="SCOUT_EXPORT_DESTINATION is not a usable export destination"):
        export_job.export_flat(trigger="cli", settings=Settings.from_env())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--out", "ftp://x"], "scout: --out must be a folder or an https://"),
        (["--out", "/dev/null/x"], "scout: --out /dev/null/x: /dev/null is not a folder"),
        (["--limit", str(10**30)], "scout: argument --limit: must be a positive whole number, at most"),
        (["--limit", "10**30"], "scout: argument --limit: must be a positive whole number, at most"),
        (["--limit", "-1"], "scout: argument --limit: must be a positive whole number, at most"),
        (["--format", "xlsx"], "scout: format must be a comma-separated subset of csv,parquet"),
    ],
)
def test_bad_cli_options_exit_2_with_one_line_and_no_run(migrated, capsys, argv, message):
    from scout.cli import main

    try:
        code = main(["export", "flat", *argv])
    except SystemExit as exit_info:  # argparse's own refusals
        code = exit_info.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith(message)
    with connect(migrated) as db:
        assert db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE job = 'exports.flat'")[0] == 0


def test_exports_are_published_to_blob_storage_for_real(migrated, sheet_data, azurite, monkeypatch):
    from azure.storage.blob import BlobServiceClient

    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    from scout.config import Settings

    settings = Settings.from_env()
    endpoint = dict(p.split("=", 1) for p in azurite.split(";") if "=" in p)["BlobEndpoint"]
    url = f"{endpoint}/exports/scout"

    result = export_job.export_flat(trigger="cli", settings=settings, out=url)

    container = BlobServiceClient.from_connection_string(azurite).get_container_client("exports")
    names = sorted(b.name for b in container.list_blobs(name_starts_with="scout/flat/"))
    latest = json.loads(container.download_blob("scout/flat/latest.json").readall())
    folder = latest["folder"]
    assert names == sorted(
        [
            "scout/flat/latest.json",
            f"scout/flat/{folder}/manifest.json",
            f"scout/flat/{folder}/scout_flat_export.csv",
            f"scout/flat/{folder}/scout_flat_export.parquet",
        ]
    )
    csv_bytes = container.download_blob(f"scout/flat/{folder}/scout_flat_export.csv").readall()
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and csv_bytes.count(b"\n") == 5
    assert result["location"].endswith(folder)
    assert export_job.latest_manifest(settings, out=url)["run_id"] == result["run_id"]
