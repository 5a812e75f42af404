"""The embedded default: a DuckDB file under ``.scout/``, so every job runs with no Azure account."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from scout.db.base import (
    Database,
    DatabaseError,
    LockLost,
    LockTimeout,
    Row,
    TransactionConflict,
    fetch_chunks,
    observe_statement,
)
from scout.db.translate import TranslationError, tsql_statement_to_duckdb, tsql_to_duckdb
from scout.errors import first_line

log = logging.getLogger(__name__)

#: Schemas SQL Server always has; DuckDB gets them on connect.
_BUILTIN_SCHEMAS = ("dbo",)
#: Schema names a DuckDB file must not be named after. DuckDB names a file's catalog after its name (up to
#: the first dot: ``results.duckdb`` is catalog ``results``), and a catalog named like a schema makes every
#: ``results.x`` ambiguous (Binder Error half-way through the migrations). The app's schemas and DuckDB's
#: own; tests/test_settings_validation.py checks every CREATE SCHEMA of the migrations is here.
RESERVED_CATALOG_NAMES = frozenset(
    {"dbo", "ref", "ops", "results", "legacy", "silver", "gold", "registry", "information_schema", "pg_catalog"}
)


def catalog_name(path: str) -> str:
    """The catalog DuckDB gives the file at ``path``: its name up to the first dot, leading dots skipped."""
    parts = [part for part in os.path.basename(path).split(".") if part]
    return parts[0] if parts else ""


def check_file_name(path: str) -> None:
    """Refuse a file name whose catalog would collide with a schema name, before the file is created."""
    from scout.config import ConfigError

    if path == ":memory:":
        return
    catalog = catalog_name(path)
    if catalog.lower() in RESERVED_CATALOG_NAMES:
        raise ConfigError(
            f"SCOUT_DATABASE_URL: a DuckDB file named {os.path.basename(path)!r} gets the catalog name "
            f"{catalog!r}, which collides with the schema {catalog.lower()}: name the file differently, "
            "e.g. scout.duckdb"
        )


class _Borrowed:
    """A transaction's connection lent to a stream: ending the stream must not close it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        pass


def _database_error(exc: Exception) -> DatabaseError:
    """DuckDB's error as ours; a write-write conflict is a TransactionConflict (safe to run again)."""
    message = f"{type(exc).__name__}: {exc}"
    text = str(exc).lower()
    # A key violated only at COMMIT was inserted by a concurrent transaction since ours began (a violation
    # of our own making fails the statement itself): a conflict, like SQL Server's wait-then-retry.
    if "conflict" in text or ("failed to commit" in text and "constraint violation" in text):
        return TransactionConflict(message)
    return DatabaseError(message)


class DuckDBDatabase(Database):
    dialect = "duckdb"

    def __init__(self, path: str, *, open_timeout_seconds: float = 30.0, memory_limit: str = "") -> None:
        import duckdb

        from scout.config import ConfigError, parse_memory_limit

        check_file_name(path)
        try:
            memory_limit = parse_memory_limit(memory_limit or "")
        except ValueError as exc:
            raise ConfigError(
                f"setting SCOUT_DUCKDB_MEMORY_LIMIT has an invalid value {memory_limit!r}: {exc}"
            ) from None
        self.path = path
        self.display_name = f"duckdb:///{path}"
        if path != ":memory:":
            if os.path.isdir(path):
                raise ConfigError(f"SCOUT_DATABASE_URL: {os.path.abspath(path)} is a folder, not a database file")
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"SCOUT_DATABASE_URL: cannot create the folder of {os.path.abspath(path)}: {exc.strerror or exc}"
                ) from None
        # One process at a time may hold a DuckDB file; another job's process waits its turn.
        started = time.monotonic()
        deadline = started + open_timeout_seconds
        while True:
            try:
                self._conn = duckdb.connect(path)
                break
            except duckdb.IOException as exc:
                # A file another process is creating this instant has no valid header yet: wait briefly.
                being_created = "not a valid DuckDB database" in str(exc) and time.monotonic() - started < 2.0
                if "lock" not in str(exc).lower() and not being_created:
                    raise DatabaseError(f"cannot open {self.display_name}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another run holds {self.display_name} (waited {open_timeout_seconds:g} s for it)"
                    ) from None
                time.sleep(0.05)
        if memory_limit:  # normalised above: digits and a known unit only
            self._conn.execute(f"SET memory_limit = '{memory_limit}'")
        for schema in _BUILTIN_SCHEMAS:
            self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        self._in_transaction = False
        self._held_locks: dict[str, int] = {}

    def sql(self, tsql: str) -> str:
        observe_statement(tsql)
        try:
            return tsql_statement_to_duckdb(tsql)
        except TranslationError as exc:
            raise DatabaseError(str(exc)) from None

    def translate_batch(self, batch: str) -> list[str]:
        try:
            return list(tsql_to_duckdb(batch))
        except TranslationError as exc:
            raise DatabaseError(str(exc)) from None

    def _run(self, native: str, params: Sequence[Any] = ()):
        import duckdb

        try:
            return self._conn.execute(native, list(params))
        except duckdb.Error as exc:
            raise _database_error(exc) from exc

    def execute(self, tsql: str, params: Sequence[Any] = ()) -> int:
        cursor = self._run(self.sql(tsql), params)
        try:
            row = cursor.fetchone()
        except Exception:  # statements without a result set
            return -1
        return int(row[0]) if row and isinstance(row[0], int) else -1

    def execute_native(self, native_sql: str, params: Sequence[Any] = ()) -> None:
        self._run(native_sql, params)

    def executemany(self, tsql: str, rows: Sequence[Sequence[Any]]) -> None:
        import duckdb

        try:
            self._conn.executemany(self.sql(tsql), [list(r) for r in rows])
        except duckdb.Error as exc:
            raise _database_error(exc) from exc

    def query(self, tsql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self._run(self.sql(tsql), params).fetchall()]

    def stream(
        self, tsql: str, params: Sequence[Any] = (), chunk_size: int = 10_000
    ) -> tuple[list[str], Iterator[list[Row]]]:
        cursor = self._stream_cursor()
        try:
            cursor.execute(self.sql(tsql), list(params))
        except Exception as exc:
            cursor.close()
            raise DatabaseError(f"{type(exc).__name__}: {exc}") from exc
        columns = [d[0] for d in cursor.description]

        return columns, fetch_chunks(cursor, chunk_size, lambda exc: f"{type(exc).__name__}: {exc}")

    def stream_arrow(
        self, tsql: str, params: Sequence[Any] = (), batch_size: int = 50_000, schema: Any = None
    ) -> Iterator[Any]:
        """DuckDB hands out Arrow batches natively: no Python object per value."""
        cursor = self._stream_cursor()
        try:
            relation = cursor.sql(self.sql(tsql), params=list(params)) if params else cursor.sql(self.sql(tsql))
            reader = relation.to_arrow_reader(batch_size)
        except Exception as exc:
            cursor.close()
            raise DatabaseError(f"{type(exc).__name__}: {exc}") from exc

        def batches() -> Iterator[Any]:
            try:
                for batch in reader:
                    yield batch.cast(schema) if schema is not None else batch
            except Exception as exc:  # noqa: BLE001 - the stream broke: the caller must not publish
                if isinstance(exc, DatabaseError):
                    raise
                raise DatabaseError(f"stream interrupted: {type(exc).__name__}: {exc}") from exc
            finally:
                cursor.close()

        return batches()

    def _stream_cursor(self) -> Any:
        """Outside a transaction, a cursor of its own (other queries may run while it streams); inside
        one, the transaction's own connection, so every query of the transaction reads one snapshot
        (a DuckDB cursor is a separate connection that would not see it)."""
        return _Borrowed(self._conn) if self._in_transaction else self._conn.cursor()

    def checkpoint(self) -> None:
        """Only when no other connection is writing (a lease heartbeat, a parallel batch): DuckDB refuses a
        checkpoint then, and it is an economy of memory, never needed for correctness; the next one (or
        DuckDB's own, at its WAL limit) moves the rows."""
        try:
            self._run("CHECKPOINT")
        except DatabaseError as exc:
            if "other write transactions" not in str(exc):
                raise
            log.debug("checkpoint skipped: another connection is writing (%s)", first_line(exc))

    @property
    def connection(self):
        """The raw DuckDB connection, for bulk paths (Arrow, COPY) that the interface does not cover."""
        return self._conn

    def begin(self, *, snapshot: bool = False) -> None:
        """DuckDB transactions are always snapshot-isolated: ``snapshot`` needs nothing more."""
        self._run("BEGIN TRANSACTION")
        self._in_transaction = True

    def commit(self) -> None:
        try:
            self._run("COMMIT")
        except TransactionConflict:
            self.rollback()  # DuckDB leaves the failed transaction open: end it, so the work can run again
            raise
        self._in_transaction = False

    def rollback(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            try:
                self._conn.execute("ROLLBACK")
            except Exception:
                pass

    @contextmanager
    def application_lock(self, name: str, timeout_seconds: float) -> Iterator[None]:
        """An exclusive ``flock`` on a file beside the database: the DuckDB stand-in for sp_getapplock.

        It is held per open file, so it excludes other processes and other threads of this one alike.
        """
        base = self.path if self.path != ":memory:" else os.path.join(os.getcwd(), ".scout", "memory")
        lock_path = f"{base}.{name}.lock"
        os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout_seconds
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"another run holds the '{name}' lock (waited {timeout_seconds:g} s)"
                        ) from None
                    time.sleep(0.05)
            self._held_locks[name] = fd
            try:
                yield
            finally:
                self._held_locks.pop(name, None)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def assert_lock_held(self, name: str) -> None:
        if name not in self._held_locks:
            raise LockLost(f"the '{name}' lock is no longer held")

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass
