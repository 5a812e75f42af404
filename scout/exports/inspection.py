"""The acceptance numbers of a written export, read back from its Parquet file: the check is of the
artifact itself, whichever database produced it, and its memory is that of one ID range, not of
every ID."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def overlapping_groups(intervals: list[tuple[Any, Any] | None]) -> list[list[int]]:
    """Row groups (by index) gathered so that two groups cannot share an ID: their [min, max] ID
    intervals do not overlap. ``None`` is a row group whose IDs are unknown (no statistics): it could
    overlap anything, so then everything is one group."""
    if any(interval is None for interval in intervals):
        return [list(range(len(intervals)))] if intervals else []
    groups: list[list[int]] = []
    highest: Any = None
    for index in sorted(range(len(intervals)), key=lambda i: intervals[i]):
        low, high = intervals[index]  # type: ignore[misc]
        if groups and low <= highest:
            groups[-1].append(index)
            highest = max(highest, high)
        else:
            groups.append([index])
            highest = high
    return groups


def count_ids(parquet: Path, part_rows: int = 250_000) -> tuple[int, int, int]:
    """Rows, unique and empty (NULL or '') Transaction_IDs of a written Parquet file.

    The file's own statistics say which row groups may share an ID; such groups are counted together
    and apart from the rest, by ID ranges of about ``part_rows`` rows that an in-memory DuckDB reads
    (its statistics skip the other row groups). Memory is then one range's IDs, never all of them.
    """
    import duckdb
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(parquet).metadata
    column = meta.schema.names.index("Transaction_ID")
    intervals: list[tuple[Any, Any] | None] = []
    sizes: list[int] = []
    nulls = 0
    for index in range(meta.num_row_groups):
        row_group = meta.row_group(index)
        stats = row_group.column(column).statistics
        if stats is None or (not stats.has_min_max and stats.null_count < row_group.num_rows):
            intervals, nulls = [None], -1  # IDs of unknown range: count the whole file at once
            break
        nulls += stats.null_count
        if stats.has_min_max:  # else no rows, or NULLs only
            intervals.append((stats.min, stats.max))
            sizes.append(row_group.num_rows)
    parts: list[tuple[Any, Any]] = []  # consecutive groups of row groups, as ID ranges
    rows_in_part = part_rows
    for group in ([] if None in intervals else overlapping_groups(intervals)):
        low, high = min(intervals[i][0] for i in group), max(intervals[i][1] for i in group)  # type: ignore[index]
        if parts and rows_in_part < part_rows:
            parts[-1] = (parts[-1][0], high)
        else:
            parts.append((low, high))
            rows_in_part = 0
        rows_in_part += sum(sizes[i] for i in group)
    source = "read_parquet(?)"
    with duckdb.connect(config={"memory_limit": "256MB"}) as con:
        if nulls < 0:
            rows, unique, empty = con.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT Transaction_ID), COUNT(*) FILTER (WHERE Transaction_ID IS NULL "
                f"OR Transaction_ID = '') FROM {source}", [str(parquet)]).fetchone()
            return int(rows), int(unique), int(empty)
        unique = empty = 0
        for low, high in parts:
            distinct, blank = con.execute(
                f"SELECT COUNT(DISTINCT Transaction_ID), COUNT(*) FILTER (WHERE Transaction_ID = '') FROM {source} "
                "WHERE Transaction_ID BETWEEN ? AND ?", [str(parquet), low, high]).fetchone()
            unique, empty = unique + int(distinct), empty + int(blank)
    return meta.num_rows, unique, empty + nulls
