"""Write the export from Arrow batches, streaming: CSV for Excel (UTF-8 with BOM) and typed Parquet."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Iterable

COLUMNS = ("Transaction_ID", "Transaction_Value", "Basket_Size", "Category", "Brand", "Daypart",
           "Demographics (Age/Gender/Role)", "Weekday_vs_Weekend", "Time of transaction", "Location",
           "Other_Products", "Was_Substitution")
FORMATS = ("csv", "parquet")
BASENAME = "scout_flat_export"
UTF8_BOM = b"\xef\xbb\xbf"  # Excel reads the file as UTF-8 only with it (Niña, not NiÃ±a)


def schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    return pa.schema([("Transaction_ID", text), ("Transaction_Value", pa.decimal128(18, 2)),
                      ("Basket_Size", pa.int32()), ("Category", text), ("Brand", text), ("Daypart", text),
                      ("Demographics (Age/Gender/Role)", text), ("Weekday_vs_Weekend", text),
                      ("Time of transaction", text), ("Location", text), ("Other_Products", text),
                      ("Was_Substitution", pa.bool_())])


def write_export(batches: Iterable[Any], folder: Path, formats: tuple[str, ...],
                 progress: Callable[[str], None] = lambda _m: None) -> int:
    """Write every batch to each format; returns the row count. Memory is one batch, whatever the total."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = schema()
    writers: list[Any] = []
    handles: list[Any] = []
    rows = 0
    try:
        if "csv" in formats:
            handle = open(folder / f"{BASENAME}.csv", "wb")
            handles.append(handle)
            handle.write(UTF8_BOM)
            writers.append(pacsv.CSVWriter(handle, target, write_options=pacsv.WriteOptions(quoting_style="needed")))
        if "parquet" in formats:
            writers.append(pq.ParquetWriter(folder / f"{BASENAME}.parquet", target, compression="zstd"))
        next_report = 250_000
        for batch in batches:
            for writer in writers:
                writer.write_batch(batch)
            rows += batch.num_rows
            if rows >= next_report:
                progress(f"written {rows:,} rows")
                next_report += 250_000
    finally:
        for writer in writers:
            writer.close()
        for handle in handles:
            handle.close()
    return rows


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
