"""The acceptance numbers of a written export, read back from its Parquet file: the check is of the
artifact itself, whichever database produced it, and its memory is that of one ID range, not of
every ID."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def id_ranges(row_groups: list[tuple[Any, Any, int]], part_rows: int) -> list[tuple[Any, Any]]:
    """ID ranges [low, high] to count apart, from the row groups' (min ID, max ID, rows). Row groups
    whose intervals overlap may share an ID, so they share a range; neighbours are also merged while
    a range holds fewer than ``part_rows`` rows. No two ranges overlap."""
    ranges: list[tuple[Any, Any]] = []
    rows_in_last = part_rows
    for low, high, rows in sorted(row_groups):
        if ranges and (low <= ranges[-1][1] or rows_in_last < part_rows):
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], high))
            rows_in_last += rows
        else:
            ranges.append((low, high))
            rows_in_last = rows
    return ranges


def count_ids(parquet: Path, part_rows: int = 250_000) -> tuple[int, int, int]:
    """Rows, unique and empty (NULL or '') Transaction_IDs of a written Parquet file.

    The file's own statistics give each row group's ID interval; an in-memory DuckDB counts each
    range of ``id_ranges`` apart (its statistics skip the other row groups), so memory is one range's
    IDs, never all of them. Without statistics, it counts the whole file at once.
    """
    import duckdb
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(parquet).metadata
    column = meta.schema.names.index("Transaction_ID")
    row_groups: list[tuple[Any, Any, int]] = []
    ranges_known = True
    nulls = 0
    for index in range(meta.num_row_groups):
        row_group = meta.row_group(index)
        stats = row_group.column(column).statistics
        if stats is None or (not stats.has_min_max and stats.null_count < row_group.num_rows):
            ranges_known = False  # IDs of unknown range
            break
        nulls += stats.null_count
        if stats.has_min_max:  # else no rows, or NULLs only
            row_groups.append((stats.min, stats.max, row_group.num_rows))
    with duckdb.connect(config={"memory_limit": "256MB"}) as con:
        if not ranges_known:
            whole = con.execute(
                "SELECT COUNT(*), COUNT(DISTINCT Transaction_ID), COUNT(*) FILTER (WHERE Transaction_ID IS NULL "
                "OR Transaction_ID = '') FROM read_parquet(?)",
                [str(parquet)],
            ).fetchone()
            assert whole is not None  # an aggregate always returns its row
            rows, unique, empty = whole
            return int(rows), int(unique), int(empty)
        unique = empty = 0
        for low, high in id_ranges(row_groups, part_rows):
            counted = con.execute(
                "SELECT COUNT(DISTINCT Transaction_ID), COUNT(*) FILTER (WHERE Transaction_ID = '') "
                "FROM read_parquet(?) WHERE Transaction_ID BETWEEN ? AND ?",
                [str(parquet), low, high],
            ).fetchone()
            assert counted is not None
            distinct, blank = counted
            unique, empty = unique + int(distinct), empty + int(blank)
    return meta.num_rows, unique, empty + nulls
