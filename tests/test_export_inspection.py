"""Validating the written file: exact counts of rows, unique and empty IDs, one ID range at a time."""

import pyarrow as pa
import pytest

from scout.exports import inspection


@pytest.mark.parametrize(
    "row_groups, part_rows, ranges",
    [
        ([], 1, []),
        ([("a", "c", 5), ("d", "f", 5), ("g", "h", 5)], 5, [("a", "c"), ("d", "f"), ("g", "h")]),
        ([("d", "f", 5), ("a", "e", 5), ("g", "h", 5)], 5, [("a", "f"), ("g", "h")]),  # overlapping: counted together
        ([("a", "c", 5), ("c", "d", 5)], 5, [("a", "d")]),  # a shared bound may be a shared ID
        ([("a", "b", 2), ("c", "d", 2), ("e", "f", 2)], 4, [("a", "d"), ("e", "f")]),  # small neighbours merged
    ],
)
def test_row_groups_that_may_share_an_id_are_counted_in_one_range(row_groups, part_rows, ranges):
    assert inspection.id_ranges(row_groups, part_rows) == ranges


@pytest.mark.parametrize("statistics", [True, False])
def test_ids_are_counted_exactly_across_row_groups_with_or_without_statistics(tmp_path, statistics):
    import pyarrow.parquet as pq

    path = tmp_path / "ids.parquet"
    with pq.ParquetWriter(path, pa.schema([("Transaction_ID", pa.string())]), write_statistics=statistics) as writer:
        for ids in (["T1", "T3", "T2"], ["T4", "T2"], [None, ""], ["X1", "X2"], [None, None], []):
            writer.write_batch(pa.RecordBatch.from_pydict({"Transaction_ID": pa.array(ids, pa.string())}))

    # 11 rows; T2 twice, in two overlapping row groups; the empty string and three NULLs are empty IDs
    assert inspection.count_ids(path) == (11, 7, 4)
