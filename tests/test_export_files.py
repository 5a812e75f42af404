"""Writing the export: read-ahead never loses an error or a thread, checksums are of the bytes written."""

import hashlib
import threading

import pyarrow as pa
import pytest

from scout.db.base import DatabaseError
from scout.exports import files


def batches(n, fail_at=None, closed=None):
    try:
        for i in range(n):
            if i == fail_at:
                raise DatabaseError("stream interrupted: connection closed")
            yield pa.RecordBatch.from_pydict({"i": [i]})
    finally:
        if closed is not None:
            closed.set()


def test_read_ahead_yields_every_batch_in_order():
    assert [b["i"][0].as_py() for b in files.read_ahead(batches(20))] == list(range(20))


def test_an_error_in_the_stream_reaches_the_writer_as_it_was():
    seen = []
    with pytest.raises(DatabaseError, match="stream interrupted"):
        for batch in files.read_ahead(batches(10, fail_at=4)):
            seen.append(batch["i"][0].as_py())
    assert seen == [0, 1, 2, 3]


def test_a_writer_that_stops_early_stops_and_closes_the_stream():
    closed = threading.Event()
    stream = files.read_ahead(batches(1_000, closed=closed), depth=2)
    next(stream)
    stream.close()  # the writer failed: the generator is closed
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "scout-export-read-ahead"]


def test_the_manifest_checksums_are_those_of_the_files_written(tmp_path):
    sample = pa.RecordBatch.from_pylist(
        [
            {
                "Transaction_ID": "T1",
                "Transaction_Value": None,
                "Basket_Size": 2,
                "Category": "Snacks",
                "Brand": "Piattos",
                "Daypart": "Morning",
                "Demographics (Age/Gender/Role)": "25-34 Female",
                "Weekday_vs_Weekend": "Weekday",
                "Time of transaction": "7AM",
                "Location": "Aling Niña's",
                "Other_Products": "Coke Mismo",
                "Was_Substitution": True,
            }
        ],
        schema=files.schema(),
    )

    written = files.write_export([sample, sample.slice(0, 0)], tmp_path, ("csv", "parquet"))

    assert written.rows == 1
    for name, entry in written.files.items():
        data = (tmp_path / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert (tmp_path / "scout_flat_export.csv").read_bytes().startswith(files.UTF8_BOM)
