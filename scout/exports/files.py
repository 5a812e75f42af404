"""Write the export from Arrow batches, streaming: CSV for Excel (UTF-8 with BOM) and typed Parquet."""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = (
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
)
FORMATS = ("csv", "parquet")
BASENAME = "scout_flat_export"
UTF8_BOM = b"\xef\xbb\xbf"  # Excel reads the file as UTF-8 only with it (Niña, not NiÃ±a)


def schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            ("Transaction_ID", text),
            ("Transaction_Value", pa.decimal128(18, 2)),
            ("Basket_Size", pa.int32()),
            ("Category", text),
            ("Brand", text),
            ("Daypart", text),
            ("Demographics (Age/Gender/Role)", text),
            ("Weekday_vs_Weekend", text),
            ("Time of transaction", text),
            ("Location", text),
            ("Other_Products", text),
            ("Was_Substitution", pa.bool_()),
        ]
    )


@dataclass(frozen=True)
class Written:
    rows: int
    files: dict[str, dict[str, Any]]  # file name -> {"sha256", "bytes"}, as the manifest lists them


class _HashingFile(io.RawIOBase):
    """A file that hashes what is written to it: the manifest's checksums without reading the export back."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.name = path.name
        self._fh = open(path, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        self._fh.write(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()

    def entry(self) -> dict[str, Any]:
        return {"sha256": self._digest.hexdigest(), "bytes": self.size}


def read_ahead(batches: Iterable[Any], depth: int = 2) -> Generator[Any, None, None]:
    """The same batches, fetched by a thread while the caller writes the previous ones: the database
    computes while the files are written (both release the GIL). At most ``depth`` batches wait."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(batches)
        try:
            for batch in source:
                if not hand_over(batch):
                    return
            hand_over(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            hand_over(exc)
        finally:
            getattr(source, "close", lambda: None)()

    worker = threading.Thread(target=produce, name="scout-export-read-ahead", daemon=True)
    worker.start()
    try:
        while (item := waiting.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def write_export(
    batches: Iterable[Any], folder: Path, formats: tuple[str, ...], progress: Callable[[str], None] = lambda _m: None
) -> Written:
    """Write every batch to each format. Memory is a few batches, whatever the total."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = schema()
    writers: list[Any] = []
    sinks: list[_HashingFile] = []
    rows = 0
    try:
        if "csv" in formats:
            sinks.append(_HashingFile(folder / f"{BASENAME}.csv"))
            sinks[-1].write(UTF8_BOM)
            writers.append(pacsv.CSVWriter(sinks[-1], target, write_options=pacsv.WriteOptions(quoting_style="needed")))
        if "parquet" in formats:
            sinks.append(_HashingFile(folder / f"{BASENAME}.parquet"))
            # Transaction_ID is unique: a dictionary of it would only be built to be dropped. Min/max
            # statistics are kept where a reader can skip row groups with them (ID ranges, amounts).
            writers.append(
                pq.ParquetWriter(
                    sinks[-1],
                    target,
                    compression="zstd",
                    use_dictionary=[c for c in COLUMNS if c != "Transaction_ID"],
                    write_statistics=["Transaction_ID", "Transaction_Value", "Basket_Size"],
                )
            )
        next_report = 250_000
        # each format is written by a thread of its own (the writers release the GIL): the files take
        # as long as the slower of them, not the sum
        stream = read_ahead(batches)
        with (
            closing(stream),
            ThreadPoolExecutor(max_workers=max(len(writers) - 1, 1), thread_name_prefix="scout-export") as pool,
        ):
            for batch in stream:
                others = [pool.submit(writer.write_batch, batch) for writer in writers[1:]]
                writers[0].write_batch(batch)
                for written in others:
                    written.result()
                rows += batch.num_rows
                if rows >= next_report:
                    progress(f"written {rows:,} rows")
                    next_report += 250_000
    finally:
        for writer in writers:
            writer.close()
        for sink in sinks:
            sink.close()
    return Written(rows, {sink.name: sink.entry() for sink in sinks})
