"""The one small database interface every job uses, whatever the engine behind it.

Jobs write SQL once, in the T-SQL subset documented in ``sql/README.md``; ``Database.sql`` hands it
to the engine as is (Azure SQL) or translated (DuckDB). Parameters are always ``?`` placeholders.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

Row = tuple
T = TypeVar("T")
log = logging.getLogger("scout.db")


class DatabaseError(RuntimeError):
    """A database operation failed; the message is safe to show (no secrets)."""


class TransactionConflict(DatabaseError):
    """The transaction lost a write-write conflict (DuckDB) or was chosen as a deadlock victim (SQL Server
    1205). The engine rolled it back whole: running the same work again from the start is safe."""


class LockTimeout(DatabaseError):
    """Another run holds the lock and did not release it within the wait."""


class LockLost(DatabaseError):
    """The lock this run held is gone (its connection dropped): stop before doing more."""


#: Who is told of every statement job code hands to a Database (``scout.sql.capture``); empty unless
#: someone records, so the check in ``observe_statement`` is all it costs.
statement_observers: list[Callable[[str], None]] = []


def observe_statement(tsql: str) -> None:
    """Tell the observers (if any) of one T-SQL statement as job code wrote it, before translation."""
    if statement_observers:
        for observer in tuple(statement_observers):
            observer(tsql)


def fetch_chunks(cursor: Any, chunk_size: int, describe: Any = str) -> Iterator[list[Row]]:
    """Row chunks from an open DB-API cursor, closed at the end; a failure mid-stream is a DatabaseError
    (never retried: whoever consumes the stream must not publish a partial result)."""
    try:
        while True:
            try:
                rows = cursor.fetchmany(chunk_size)
            except Exception as exc:
                raise DatabaseError(f"stream interrupted: {describe(exc)}") from None
            if not rows:
                return
            yield [tuple(r) for r in rows]
    finally:
        cursor.close()


class Database:
    """Abstract base: one connection, used by one job at a time."""

    #: "duckdb" or "tsql": the dialect statements are finally run in.
    dialect: str = ""
    #: A readable description of where the data is, without credentials.
    display_name: str = ""

    # -- statements ---------------------------------------------------------------------------------
    def sql(self, tsql: str) -> str:
        """Return ``tsql`` as this engine must run it."""
        return tsql

    def translate_batch(self, batch: str) -> list[str]:
        """The statements this engine runs for one T-SQL batch (Azure SQL: the batch itself)."""
        return [batch]

    def execute(self, tsql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the affected row count where the engine reports one."""
        raise NotImplementedError

    def executemany(self, tsql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def query(self, tsql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def query_one(self, tsql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(tsql, params)
        return rows[0] if rows else None

    def query_value(self, tsql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of a statement that always returns one (a COUNT, a MAX)."""
        row = self.query_one(tsql, params)
        if row is None:
            raise DatabaseError(f"expected a row, got none from: {' '.join(tsql.split())[:120]}")
        return row[0]

    def query_dicts(self, tsql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        columns, chunks = self.stream(tsql, params)
        return [dict(zip(columns, row)) for chunk in chunks for row in chunk]

    def stream(
        self, tsql: str, params: Sequence[Any] = (), chunk_size: int = 10_000
    ) -> tuple[list[str], Iterator[list[Row]]]:
        """Column names and an iterator of row chunks: memory stays bounded by ``chunk_size``."""
        raise NotImplementedError

    def stream_arrow(
        self, tsql: str, params: Sequence[Any] = (), batch_size: int = 50_000, schema: Any = None
    ) -> Iterator[Any]:
        """Arrow record batches of at most ``batch_size`` rows (typed by ``schema`` when given)."""
        import pyarrow as pa

        columns, chunks = self.stream(tsql, params, batch_size)
        for rows in chunks:
            values: list[Any] = list(zip(*rows)) if rows else [[] for _ in columns]
            if schema is not None:
                arrays = [pa.array(list(v), type=schema.field(i).type) for i, v in enumerate(values)]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            else:
                yield pa.RecordBatch.from_arrays([pa.array(list(v)) for v in values], names=columns)

    def execute_native(self, native_sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement already in this engine's dialect (migrations translate beforehand)."""
        raise NotImplementedError

    def checkpoint(self) -> None:
        """Move rows just written out of memory into the database file, where an engine keeps them in
        memory until then (DuckDB: new rows and their index entries). Elsewhere nothing to do."""

    # -- transactions -------------------------------------------------------------------------------
    def begin(self, *, snapshot: bool = False) -> None:
        """Start a transaction. ``snapshot``: every statement in it reads the data as of its first read
        (SQL Server SNAPSHOT isolation; READ_COMMITTED_SNAPSHOT only gives each *statement* its own)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self, *, snapshot: bool = False) -> Iterator[Database]:
        """Everything inside commits together or not at all."""
        self.begin(snapshot=snapshot)
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            self.commit()

    def retry_transaction(self, work: Callable[[Database], T], *, attempts: int = 8, what: str = "transaction") -> T:
        """Run ``work(db)`` in a transaction; when it loses a write conflict or a deadlock (the engine rolled
        it back whole), run it again from the start after a short random pause. ``work`` must only touch
        the database (no side effects outside it), so running it again is safe."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction():
                    return work(self)
            except TransactionConflict as exc:
                if attempt == attempts:
                    raise TransactionConflict(f"{what} lost {attempts} write conflicts in a row: {exc}") from None
                log.info("%s lost a write conflict (attempt %d/%d), running it again: %s", what, attempt, attempts, exc)
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- locking ------------------------------------------------------------------------------------
    @contextmanager
    def application_lock(self, name: str, timeout_seconds: float) -> Iterator[None]:
        """Hold an exclusive, named lock for the duration; LockTimeout when it cannot be had in time."""
        raise NotImplementedError
        yield  # pragma: no cover

    def assert_lock_held(self, name: str) -> None:
        """Raise LockLost unless this connection still holds ``name`` (checked before each batch)."""
        raise NotImplementedError

    # -- catalogue ----------------------------------------------------------------------------------
    def table_exists(self, schema: str, name: str) -> bool:
        row = self.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (schema, name),
        )
        return bool(row and row[0])

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
