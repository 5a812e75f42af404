"""The flat export job: summarize new baskets, stream the view one Transaction_ID range at a time into
CSV and Parquet, check the acceptance numbers on the written file, publish only what passed.

On any failure — validation, a dropped connection mid-stream, an upload error — nothing is published
and the previous export (``latest``) stays as it was; the run is recorded as failed with the reason.
Validation includes the shrink check (scout.exports.acceptance): 0 rows, or fewer than half the rows of
the latest full export, is refused unless ``allow_shrink`` says it is intended.

Bad input (an unknown format, a limit out of range, a destination that cannot be written) is refused
before anything is recorded or written: InvalidInput, CLI exit 2 / HTTP 400, and no run in the history.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scout.config import ConfigError, Settings
from scout.db.base import Database
from scout.errors import InvalidInput
from scout.exports import files
from scout.exports.acceptance import Acceptance, full_export_rows
from scout.exports.baskets import summarize
from scout.exports.destinations import LocalDestination, destination_for
from scout.exports.inspection import count_ids
from scout.exports.ranges import conditions, split_points
from scout.jobs.runs import JobContext, log_event, run_job

VIEW = "dbo.v_flat_export_sheet"
EVENT_EXPORT_VALIDATED = "scout.export.validated"
BATCH_ROWS = 50_000  # rows per Arrow batch
#: The largest ``limit``: what T-SQL's ``TOP (n)`` takes (BIGINT), and DuckDB's LIMIT.
MAX_LIMIT = 2**63 - 1


class ExportRejected(RuntimeError):
    """Validation failed: nothing was published."""

    def __init__(self, acceptance: Acceptance) -> None:
        super().__init__("export failed validation, nothing published: " + "; ".join(acceptance.problems))
        self.summary = {**acceptance.as_dict(), "acceptance": acceptance.lines()}


def parse_formats(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return files.FORMATS
    items = value.split(",") if isinstance(value, str) else list(value)
    formats = tuple(dict.fromkeys(str(f).strip().lower() for f in items if str(f).strip()))
    unknown = [f for f in formats if f not in files.FORMATS]
    if not formats or unknown:
        raise InvalidInput(f"format must be a comma-separated subset of {','.join(files.FORMATS)}")
    return formats


def check_limit(limit: Any) -> int | None:
    """None (no limit) or a whole number from 1 to MAX_LIMIT; anything else is InvalidInput."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a positive whole number, at most {MAX_LIMIT}")
    return limit


def unwritable(folder: Path) -> str | None:
    """Why ``folder`` could not be created and written to, or None when it can: its nearest existing
    ancestor (itself, if it exists) decides. Nothing is created to find out."""
    folder = Path(os.path.abspath(folder))
    for candidate in (folder, *folder.parents):
        if os.path.isdir(candidate):
            return None if os.access(candidate, os.W_OK | os.X_OK) else f"cannot write to {candidate}"
        if os.path.lexists(candidate):
            return f"{candidate} is not a folder"
    return f"no existing folder above {folder}"  # pragma: no cover - the root always exists


def check_destination(out: str | None, settings: Settings) -> None:
    """Refuse a destination the export could not publish to, before anything is recorded or written: an
    address that is neither a folder nor a blob container URL, or a folder that cannot be created or
    written. From ``out`` (``--out``): InvalidInput; from the SCOUT_EXPORT_DESTINATION setting: ConfigError."""
    if out is not None and not out.strip():
        raise InvalidInput("--out must be a folder or a blob container URL, not empty")
    try:
        destination = destination_for(out, settings)
        if isinstance(destination, LocalDestination):
            problem = unwritable(destination.root)
            if problem:
                raise InvalidInput(f"--out {destination.root}: {problem}")
    except InvalidInput as exc:
        if out is None:
            raise ConfigError(f"SCOUT_EXPORT_DESTINATION is not a usable export destination: {exc}") from None
        raise


def check_inputs(out: str | None, limit: Any, formats: Any, settings: Settings) -> tuple[tuple[str, ...], int | None]:
    """Every input of an export, checked without touching anything: (formats, limit)."""
    chosen, checked = parse_formats(formats), check_limit(limit)
    check_destination(out, settings)
    return chosen, checked


def selections(limit: int | None, points: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The queries that together return the export, each with its parameters: one per Transaction_ID
    range between ``points``, so the database's work and the validation's memory are one range's.
    The ranges cover every non-empty ID; a row without one would be missing from the count and fail
    validation."""
    columns = ", ".join(f"[{c}]" for c in files.COLUMNS)
    if limit is not None:
        return [(f"SELECT TOP ({int(limit)}) {columns} FROM {VIEW} ORDER BY Transaction_ID", ())]
    return [
        (f"SELECT {columns} FROM {VIEW} WHERE {condition}", params)
        for condition, params in conditions("Transaction_ID", points)
    ]


def stream_export(db: Database, limit: int | None, points: list[Any]) -> Iterator[Any]:
    for sql, params in selections(limit, points):
        yield from db.stream_arrow(sql, params, batch_size=BATCH_ROWS, schema=files.schema())


def base_count(db: Database, limit: int | None) -> int:
    """The transactions the export must hold: counted on the base table, under any view that could fan out."""
    base = int(db.query_value("SELECT COUNT(*) FROM dbo.Transactions"))
    return base if limit is None else min(base, limit)


def inspect_written(
    parquet: Path,
    streamed: int,
    base: int,
    *,
    limit: int | None = None,
    previous: dict[str, Any] | None = None,
    allow_shrink: bool = False,
) -> Acceptance:
    """The acceptance numbers of the file about to be published, so the check is of the artifact
    itself, whichever database produced it; ``previous`` is the manifest of the latest export (the
    shrink check's reference)."""
    rows, unique, empty = count_ids(parquet)
    previous_rows = (previous.get("counts") or {}).get("export_rows") if previous else None
    return Acceptance(
        base,
        rows,
        unique,
        empty,
        streamed,
        limit=limit,
        previous_export_rows=None if previous_rows is None else int(previous_rows),
        reference_rows=full_export_rows(previous),
        allow_shrink=allow_shrink,
    )


def rules_checksums(db: Database) -> dict[str, int]:
    return {
        k: int(v)
        for k, v in db.query("SELECT rules_checksum, COUNT(*) FROM ref.transaction_personas GROUP BY rules_checksum")
    }


def export_in(
    db: Database,
    settings: Settings,
    run_id: str,
    *,
    out: str | None = None,
    limit: int | None = None,
    formats: tuple[str, ...] = files.FORMATS,
    full: bool = False,
    allow_shrink: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Summarize new baskets (all with ``full``), then stream, validate and publish the sheet. An export
    that shrinks (scout.exports.acceptance) is refused unless ``allow_shrink``."""
    destination = destination_for(out, settings)
    if db.dialect == "duckdb":  # rows may leave in any order: DuckDB then streams instead of buffering
        db.execute_native("SET preserve_insertion_order = false")
    points = split_points(db)
    summarized = summarize(db, points, full=full, progress=progress)
    staging = destination.new_staging(run_id)
    try:
        # One snapshot for the base count and the rows: on Azure SQL that takes SNAPSHOT isolation, since
        # READ_COMMITTED_SNAPSHOT gives each statement its own (rows ingested in between would fail the gate).
        with db.transaction(snapshot=True):
            base = base_count(db, limit)
            progress(f"exporting {base:,} transactions to {destination.describe()}")
            written = files.write_export(
                stream_export(db, limit, points), staging, tuple(dict.fromkeys((*formats, "parquet"))), progress
            )
            checksums = rules_checksums(db)
        previous = destination.latest()  # read last: the export this one would replace
        acceptance = inspect_written(
            staging / f"{files.BASENAME}.parquet",
            written.rows,
            base,
            limit=limit,
            previous=previous,
            allow_shrink=allow_shrink,
        )
        rows, unique = acceptance.export_rows, acceptance.unique_ids
        published = dict(written.files)
        if "parquet" not in formats:  # written for the check only
            (staging / f"{files.BASENAME}.parquet").unlink()
            del published[f"{files.BASENAME}.parquet"]
        log_event(
            EVENT_EXPORT_VALIDATED,
            run_id=run_id,
            base_transactions=base,
            export_rows=rows,
            unique_ids=unique,
            passed=acceptance.passed,
            previous_export_rows=acceptance.previous_export_rows,
            allow_shrink=allow_shrink,
        )
        for line in acceptance.lines():
            progress(line)
        if not acceptance.passed:
            raise ExportRejected(acceptance)
        generated = datetime.now(UTC)
        folder = f"{generated:%Y%m%dT%H%M%SZ}_{run_id[:8]}"
        manifest = {
            "run_id": run_id,
            "generated_at": generated.isoformat(),
            "view": VIEW,
            "columns": list(files.COLUMNS),
            "counts": {"base_transactions": base, "export_rows": rows, "unique_transaction_ids": unique},
            "limit": limit,
            "rules_checksums": checksums,
            # the shrink check: what this export replaced, and the full export's rows the next one is held to
            "previous_export_rows": acceptance.previous_export_rows,
            "previous_run_id": previous.get("run_id") if previous else None,
            "full_export_rows": rows if limit is None else acceptance.reference_rows,
            "allow_shrink": allow_shrink,
            "files": dict(sorted(published.items())),
        }
        location = destination.publish(staging, folder, manifest)
    except BaseException:
        destination.discard(staging)
        raise
    return {
        **acceptance.as_dict(),
        "acceptance": acceptance.lines(),
        "location": location,
        "files": sorted(published),
        "formats": list(formats),
        "baskets_summarized": summarized,
    }


def export_flat(
    *,
    trigger: str,
    out: str | None = None,
    limit: int | None = None,
    formats: str | Iterable[str] | None = None,
    full: bool = False,
    allow_shrink: bool = False,
    settings: Settings | None = None,
    invocation_id: str = "",
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recorded job ``exports.flat``. A new run's input is checked before it is recorded (bad input:
    InvalidInput, no run); a queued run (``run_id``, recorded when submitted) checks it again inside
    the run, so that whatever is wrong by then fails that run instead of leaving it queued."""
    settings = settings or Settings.from_env()
    if run_id is None:
        check_inputs(out, limit, formats, settings)

    def body(ctx: JobContext) -> dict[str, Any]:
        chosen, checked_limit = check_inputs(out, limit, formats, settings)
        return export_in(
            ctx.db,
            settings,
            ctx.run_id,
            out=out,
            limit=checked_limit,
            formats=chosen,
            full=bool(full),
            allow_shrink=bool(allow_shrink),
            progress=ctx.progress,
        )

    return run_job(
        "exports.flat", trigger, body, settings=settings, invocation_id=invocation_id, run_id=run_id, progress=progress
    )


def latest_manifest(settings: Settings | None = None, out: str | None = None) -> dict[str, Any] | None:
    return destination_for(out, settings or Settings.from_env()).latest()
