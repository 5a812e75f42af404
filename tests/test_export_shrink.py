"""An export never shrinks silently: 0 rows, or fewer than half the rows of the latest full export, is a
failed validation -- the alert's event says passed=false, the run fails, nothing is published and the
previous export stays latest -- unless --allow-shrink says it is intended. A limited export is held to
the latest full export's rows capped at its limit, and never lowers the bar for the next full export."""

import json
import logging
from pathlib import Path

import pytest

from scout.cli import main
from scout.db import connect
from scout.demo import job as demo
from scout.exports import job as export_job
from scout.exports.acceptance import Acceptance, full_export_rows
from scout.jobs.runs import JobFailed

EXPORTS = Path(".scout/exports/flat")  # relative to the test's own working folder


def seed(settings, transactions):
    demo.seed(trigger="cli", transactions=transactions, seed=7, replace=True, settings=settings)


def latest() -> dict:
    return json.loads((EXPORTS / "latest.json").read_text())


def published_folders() -> list[str]:
    return sorted(p.name for p in EXPORTS.iterdir() if p.is_dir() and not p.name.startswith("."))


def last_run(settings) -> tuple[str, str | None]:
    with connect(settings) as db:
        return tuple(
            db.query_one("SELECT status, error FROM ops.job_runs WHERE job = 'exports.flat' ORDER BY started_at DESC")
        )


def validated_events(caplog) -> list[dict]:
    return [
        json.loads(r.getMessage().split(" ", 1)[1])
        for r in caplog.records
        if r.getMessage().startswith("scout.export.validated ")
    ]


@pytest.fixture
def exported_300(migrated):
    """A database of 300 transactions, exported (and published) once."""
    seed(migrated, 300)
    export_job.export_flat(trigger="cli", settings=migrated)
    assert latest()["counts"]["export_rows"] == 300
    return migrated


def test_a_source_cut_to_a_third_is_refused_and_the_previous_export_stays_latest(exported_300, caplog):
    before = (EXPORTS / "latest.json").read_text()
    seed(exported_300, 100)  # a reload that lost most of the data

    caplog.set_level(logging.INFO, logger="scout.events")
    with pytest.raises(JobFailed, match="100 rows is fewer than half of the 300 expected .*--allow-shrink"):
        export_job.export_flat(trigger="cli", settings=exported_300)

    assert (EXPORTS / "latest.json").read_text() == before
    assert published_folders() == [json.loads(before)["folder"]]
    assert not [p for p in EXPORTS.iterdir() if p.name.startswith(".staging")]
    status, error = last_run(exported_300)
    assert status == "failed" and "fewer than half" in error
    [event] = validated_events(caplog)  # what the validation alert queries
    assert (event["passed"], event["export_rows"], event["previous_export_rows"]) == (False, 100, 300)


def test_allow_shrink_publishes_it_and_the_manifest_records_what_it_replaced(exported_300):
    first = latest()
    seed(exported_300, 100)

    result = export_job.export_flat(trigger="cli", settings=exported_300, allow_shrink=True)

    manifest = latest()
    assert manifest["run_id"] == result["run_id"] and manifest["counts"]["export_rows"] == 100
    assert (manifest["previous_export_rows"], manifest["previous_run_id"]) == (300, first["run_id"])
    assert manifest["allow_shrink"] is True and manifest["full_export_rows"] == 100  # the new bar
    assert (
        "shrink allowed: 100 rows is fewer than half of the 300 expected from the latest full export "
        "(300 rows)" in result["acceptance"]
    )


def test_exactly_half_is_not_a_shrink(exported_300):
    seed(exported_300, 150)
    result = export_job.export_flat(trigger="cli", settings=exported_300)
    assert result["passed"] and latest()["previous_export_rows"] == 300


def test_an_empty_database_is_never_published_even_as_the_first_export(migrated):
    with pytest.raises(JobFailed, match="0 rows: an empty export never replaces the latest one"):
        export_job.export_flat(trigger="cli", settings=migrated)
    assert not (EXPORTS / "latest.json").exists()

    export_job.export_flat(trigger="cli", settings=migrated, allow_shrink=True)  # an empty sheet, on purpose
    assert latest()["counts"]["export_rows"] == 0 and latest()["allow_shrink"] is True


def test_an_emptied_source_after_a_good_export_is_refused(exported_300):
    """Finding 2: a failed reload emptied the tables; the next export must not publish 0 rows over 300."""
    before = (EXPORTS / "latest.json").read_text()
    with connect(exported_300) as db:
        for table in ("dbo.TransactionItems", "dbo.SalesInteractions", "dbo.Transactions"):
            db.execute(f"DELETE FROM {table}")

    with pytest.raises(JobFailed, match="0 rows"):
        export_job.export_flat(trigger="cli", settings=exported_300)
    assert (EXPORTS / "latest.json").read_text() == before


def test_a_limited_export_is_held_to_the_full_export_capped_at_its_limit(exported_300):
    small = export_job.export_flat(trigger="cli", settings=exported_300, limit=50)  # expects min(300, 50)
    assert small["passed"] and latest()["full_export_rows"] == 300  # carried forward, not lowered to 50

    seed(exported_300, 100)
    with pytest.raises(JobFailed, match="100 rows is fewer than half of the 300 expected"):
        export_job.export_flat(trigger="cli", settings=exported_300)  # still measured against 300
    assert export_job.export_flat(trigger="cli", settings=exported_300, limit=100)["passed"]  # min(300, 100)

    seed(exported_300, 20)
    with pytest.raises(JobFailed, match="20 rows is fewer than half of the 100 expected"):
        export_job.export_flat(trigger="cli", settings=exported_300, limit=100)


@pytest.mark.parametrize(
    "rows, reference, limit, allowed, passed",
    [
        (0, None, None, False, False),  # the first export, empty
        (0, 10, None, True, True),  # empty on purpose
        (5, 10, None, False, True),  # exactly half
        (4, 10, None, False, False),  # fewer than half
        (4, 10, None, True, True),
        (4, 10, 8, False, True),  # a limit of 8 expects 8: 4 is half
        (3, 10, 8, False, False),
        (7, None, 100, False, True),  # no full export known: only emptiness counts
    ],
)
def test_the_shrink_rule(rows, reference, limit, allowed, passed):
    acceptance = Acceptance(rows, rows, rows, 0, rows, limit=limit, reference_rows=reference, allow_shrink=allowed)
    assert acceptance.passed is passed


def test_the_full_export_count_a_manifest_carries():
    assert full_export_rows(None) is None
    assert full_export_rows({"counts": {"export_rows": 12}, "limit": None}) == 12  # a manifest from before
    assert full_export_rows({"counts": {"export_rows": 12}, "limit": 12}) is None
    assert full_export_rows({"counts": {"export_rows": 12}, "limit": 12, "full_export_rows": 300}) == 300


def test_the_cli_refuses_with_exit_1_and_one_line_then_allow_shrink_publishes(exported_300, capsys):
    seed(exported_300, 100)
    capsys.readouterr()

    assert main(["export", "flat"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("scout: export failed validation, nothing published: 100 rows is fewer than half")
    assert err[-1].endswith('pass --allow-shrink (HTTP: "allow_shrink": true) if that is intended')

    assert main(["export", "flat", "--allow-shrink", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["export_rows"] == 100
