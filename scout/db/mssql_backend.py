"""Azure SQL through pyodbc + ODBC Driver 18, authenticated with a Microsoft Entra access token.

pyodbc is imported here only, so the embedded default runs without unixODBC. Outside a transaction,
transient faults (scout.db.retry) are retried with back-off, reconnecting first; inside one they are errors,
and a deadlock is a TransactionConflict. Every result of a batch is read before its cursor closes, so an
error of a later statement surfaces. Errors never carry a secret.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from scout.config import ConfigError, Settings
from scout.db.base import Database, DatabaseError, LockLost, LockTimeout, Row, TransactionConflict
from scout.db.retry import SNAPSHOT_NOT_ALLOWED, RetryPolicy, error_numbers, error_parts, is_conflict, is_transient

log = logging.getLogger("scout.db.mssql")

#: ODBC connection attribute that takes an Entra access token (msodbcsql.h).
SQL_COPT_SS_ACCESS_TOKEN = 1256
TOKEN_SCOPE = "https://database.windows.net/.default"


class TransientDatabaseError(DatabaseError):
    """A transient Azure SQL fault that was not retried any further: the attempts ran out, or it hit inside a
    transaction or mid-stream, where a retry would not be the same work. Trying again later may succeed."""


def pack_access_token(token: str) -> bytes:
    """The token as ODBC wants it: a 4-byte little-endian length, then UTF-16-LE bytes."""
    raw = token.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw


def describe_error(exc: BaseException) -> str:
    """A one-line cause with SQLSTATE, never the connection string."""
    sqlstate, message = error_parts(exc)
    message = " ".join(message.split())
    return f"[{sqlstate}] {message}" if sqlstate and f"[{sqlstate}]" not in message else message


#: The statements the backend itself sends (name -> T-SQL exactly as sent, ``?`` markers included), for
#: ``scout sql render`` to write out for a DBA.
BACKEND_STATEMENTS: dict[str, str] = {
    # NOCOUNT ON: sp_getapplock's own row count would otherwise be a result before the SELECT, and
    # fetchone() would fail ("Previous SQL was not a query"). OFF again before the SELECT: SET NOCOUNT
    # outlives the batch, and the jobs read the row counts later statements report.
    "application_lock": (
        "SET NOCOUNT ON; DECLARE @rc INT; EXEC @rc = sp_getapplock @Resource = ?, "
        "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = ?; "
        "SET NOCOUNT OFF; SELECT @rc AS lock_result;"
    ),
    "application_lock_release": "EXEC sp_releaseapplock @Resource = ?, @LockOwner = 'Session';",
    "application_lock_mode": "SELECT APPLOCK_MODE('public', ?, 'Session');",
    "isolation_snapshot": "SET TRANSACTION ISOLATION LEVEL SNAPSHOT;",
    "isolation_read_committed": "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;",
}

#: sp_getapplock's return codes besides granted (0, 1 after waiting) and timed out (-1).
APPLOCK_FAILURES = {
    -2: "the lock request was cancelled",
    -3: "the lock request was chosen as a deadlock victim",
    -999: "parameter validation or other call error",
}

SNAPSHOT_HELP = (
    "snapshot isolation is not allowed in this database (Msg 3952); an administrator enables it "
    "once with 'ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON' "
    "(infra/sql/grant-app-identity.sql does it; see the README, 'Azure SQL and credentials')"
)


def _nothing(cursor: Any) -> None:
    return None


def _close_quietly(cursor: Any) -> None:
    try:
        cursor.close()
    except Exception:
        pass


class MssqlDatabase(Database):
    """One pyodbc connection. Outside a transaction a transient fault is retried (reconnecting first);
    inside one it is an error, since a retry would run the rest of the work outside the transaction."""

    dialect = "tsql"

    def __init__(
        self,
        server: str,
        database: str,
        settings: Settings,
        *,
        connect_fn: Callable[..., Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server, self.database, self.settings = server, database, settings
        self.display_name = f"mssql://{server}/{database}"
        self.policy = RetryPolicy(
            settings["SCOUT_RETRY_ATTEMPTS"],
            settings["SCOUT_RETRY_FIRST_WAIT_SECONDS"],
            settings["SCOUT_RETRY_MAX_WAIT_SECONDS"],
        )
        self._connect_fn = connect_fn
        self._sleep = sleep
        self._conn: Any = None
        self._in_transaction = False
        self._snapshot = False  # the session is in SNAPSHOT isolation and must be set back
        self._held_locks: set[str] = set()
        self._conn = self._with_retry("connect", self._open)

    # -- connecting ---------------------------------------------------------------------------------
    def _connection_string(self) -> tuple[str, dict[int, bytes]]:
        driver = self.settings["SCOUT_ODBC_DRIVER"]
        host, _, port = self.server.partition(",")
        parts = [
            f"Driver={{{driver}}}",
            f"Server=tcp:{host},{port or 1433}",
            f"Database={self.database}",
            "Encrypt=yes",
            "TrustServerCertificate=no",
            "Connection Timeout=30",
        ]
        attrs: dict[int, bytes] = {}
        auth = self.settings["SCOUT_SQL_AUTH"]
        if auth == "entra":
            attrs[SQL_COPT_SS_ACCESS_TOKEN] = pack_access_token(self._entra_token())
        elif auth == "sql":
            from scout.secrets import get_secret

            user = self.settings["SCOUT_SQL_USER"]
            if not user:
                raise ConfigError("SCOUT_SQL_AUTH=sql needs SCOUT_SQL_USER")
            sql_login_key = get_secret(self.settings["SCOUT_SQL_PASSWORD_SECRET_NAME"], self.settings)
            parts += [f"UID={user}", "PWD={" + sql_login_key.replace("}", "}}") + "}"]
        else:
            raise ConfigError("SCOUT_SQL_AUTH must be 'entra' or 'sql'")
        return ";".join(parts), attrs

    def _entra_token(self) -> str:
        from scout.secrets import azure_credential

        return azure_credential(self.settings).get_token(TOKEN_SCOPE).token

    def _open(self) -> Any:
        connect = self._connect_fn
        if connect is None:
            import pyodbc

            connect = pyodbc.connect
        conn_str, attrs = self._connection_string()
        return connect(conn_str, attrs_before=attrs or None, autocommit=True)

    def _connection(self) -> Any:
        """The open connection; a new one only where nothing depended on the lost session."""
        if self._conn is None:
            if self._held_locks:
                raise LockLost(f"connection lost while holding {', '.join(sorted(self._held_locks))}")
            if self._in_transaction:
                raise DatabaseError("the connection was lost inside a transaction")
            self._conn = self._open()
        return self._conn

    def _with_retry(self, what: str, action: Callable[[], Any], *, reconnect: bool = False) -> Any:
        """Run ``action``; on a transient fault wait, reconnect if asked, and try again. A reconnect that
        fails is one more failed attempt (Azure SQL answers 40613 while a database fails over), never a way
        out of the loop: the final error says what was tried, how many times and the last cause."""
        waits = list(self.policy.waits())
        attempt, reconnecting = 0, False
        while True:
            attempt += 1
            doing = what
            try:
                if reconnecting:
                    doing = f"{what} (reconnecting)"
                    self._reconnect()
                    doing = what
                return action()
            except Exception as exc:  # pyodbc.Error and friends
                if isinstance(exc, (ConfigError, DatabaseError)):
                    raise
                if not is_transient(exc):
                    raise DatabaseError(f"{doing} failed: {describe_error(exc)}") from None
                if attempt > len(waits):
                    raise TransientDatabaseError(
                        f"{what} on {self.display_name} failed {attempt} time(s) with transient faults; "
                        f"last cause{' (reconnecting)' if doing != what else ''}: {describe_error(exc)}"
                    ) from None
                wait = waits[attempt - 1]
                log.warning(
                    "transient fault on %s (attempt %d/%d), retrying in %.1f s: %s",
                    doing,
                    attempt,
                    self.policy.attempts,
                    wait,
                    describe_error(exc),
                )
                self._sleep(wait)
                reconnecting = reconnect

    def _reconnect(self) -> None:
        if self._held_locks:
            # the lock lived on the dropped session: never reconnect silently under it
            raise LockLost(f"connection lost while holding {', '.join(sorted(self._held_locks))}")
        self.close()
        self._conn = self._open()

    # -- statements ---------------------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any], fetch: Callable[[Any], Any]) -> Any:
        """One batch on the current connection. Every result is read before the cursor closes: an error
        of a later statement of the batch only surfaces there (closing early would cancel it unseen)."""
        cursor = self._connection().cursor()
        try:
            cursor.execute(sql, *([list(params)] if params else []))
            result = fetch(cursor)
            while cursor.nextset():
                pass
            return result
        finally:
            _close_quietly(cursor)

    def _failed_in_transaction(self, what: str, exc: BaseException) -> DatabaseError:
        """The error a fault inside a transaction is: never retried here, since the transaction's earlier
        work would not be there for the retry; a deadlock is a TransactionConflict (run it all again)."""
        if isinstance(exc, DatabaseError):
            return exc
        cause = describe_error(exc)
        if is_conflict(exc):
            return TransactionConflict(
                f"{what} lost a conflict inside a transaction, which the server rolled back: {cause}"
            )
        if SNAPSHOT_NOT_ALLOWED in error_numbers(error_parts(exc)[1]):
            return DatabaseError(f"{what} failed: {SNAPSHOT_HELP}: {cause}")
        kind = TransientDatabaseError if is_transient(exc) else DatabaseError
        return kind(f"{what} failed inside a transaction (not retried: the transaction is lost with it): {cause}")

    def _cursor_run(self, sql: str, params: Sequence[Any], fetch: Callable[[Any], Any], what: str = "statement") -> Any:
        if self._in_transaction:
            try:
                return self._run(sql, params, fetch)
            except Exception as exc:
                raise self._failed_in_transaction(what, exc) from None
        return self._with_retry(what, lambda: self._run(sql, params, fetch), reconnect=True)

    def execute(self, tsql: str, params: Sequence[Any] = ()) -> int:
        return self._cursor_run(tsql, params, lambda c: c.rowcount)

    def execute_native(self, native_sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor_run(native_sql, params, _nothing)

    def query(self, tsql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._cursor_run(tsql, params, lambda c: [tuple(r) for r in c.fetchall()], "query")

    def executemany(self, tsql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many parameter sets of one statement. Outside a transaction they get one of their own: in
        autocommit mode each set may commit alone, and a retry after a fault would write some twice."""
        values = [list(r) for r in rows]
        if not values:
            return  # pyodbc refuses an empty list; there is nothing to write

        def send(conn: Any) -> None:
            cursor = conn.cursor()
            try:
                cursor.fast_executemany = True
                cursor.executemany(tsql, values)
                while cursor.nextset():
                    pass
            finally:
                _close_quietly(cursor)

        if self._in_transaction:
            try:
                return send(self._connection())
            except Exception as exc:
                raise self._failed_in_transaction("bulk insert", exc) from None

        def all_or_nothing() -> None:
            conn = self._connection()
            conn.autocommit = False
            try:
                send(conn)
            except BaseException:
                self._end_local_transaction(conn, rollback=True)
                raise
            try:
                conn.commit()
            except Exception as exc:  # the rows may or may not be in: never send them again blindly
                self._end_local_transaction(conn, rollback=True)
                raise DatabaseError(f"bulk insert: commit failed, outcome unknown: {describe_error(exc)}") from None
            self._end_local_transaction(conn, rollback=False)

        self._with_retry("bulk insert", all_or_nothing, reconnect=True)

    def stream(
        self, tsql: str, params: Sequence[Any] = (), chunk_size: int = 10_000
    ) -> tuple[list[str], Iterator[list[Row]]]:
        """Columns and row chunks. Outside a transaction opening the query is retried; inside one it is
        not (a reconnect would read the rest outside the transaction). Rows already handed out are never
        read again: a fault mid-stream is an error."""

        def open_cursor() -> Any:
            cursor = self._connection().cursor()
            try:
                cursor.execute(tsql, *([list(params)] if params else []))
                while cursor.description is None and cursor.nextset():  # row counts before the rows
                    pass
            except BaseException:
                _close_quietly(cursor)
                raise
            return cursor

        in_transaction = self._in_transaction
        if in_transaction:
            try:
                cursor = open_cursor()
            except Exception as exc:
                raise self._failed_in_transaction("query", exc) from None
        else:
            cursor = self._with_retry("query", open_cursor, reconnect=True)
        if cursor.description is None:
            _close_quietly(cursor)
            raise DatabaseError("query returned no result set")
        return [d[0] for d in cursor.description], self._chunks(cursor, chunk_size, in_transaction)

    def _chunks(self, cursor: Any, chunk_size: int, in_transaction: bool) -> Iterator[list[Row]]:
        streamed = 0
        try:
            while True:
                try:
                    rows = cursor.fetchmany(chunk_size)
                    if not rows:
                        while cursor.nextset():
                            pass
                        return
                except Exception as exc:
                    what = f"stream interrupted after {streamed:,} rows"
                    if in_transaction:
                        raise self._failed_in_transaction(what, exc) from None
                    kind = TransientDatabaseError if is_transient(exc) else DatabaseError
                    raise kind(f"{what}: {describe_error(exc)}") from None
                streamed += len(rows)
                yield [tuple(r) for r in rows]
        finally:
            _close_quietly(cursor)

    # -- transactions -------------------------------------------------------------------------------
    def begin(self, *, snapshot: bool = False) -> None:
        """Autocommit off until commit or rollback. ``snapshot``: SNAPSHOT isolation for this transaction
        (set before it starts; READ COMMITTED again after it ends, as the connection is reused)."""
        if self._in_transaction:
            raise DatabaseError("a transaction is already open on this connection")

        def prepare() -> None:
            if snapshot:
                self._snapshot = True
                self._run(BACKEND_STATEMENTS["isolation_snapshot"], (), _nothing)
            self._connection().autocommit = False

        try:
            self._with_retry("begin transaction", prepare, reconnect=True)
        except BaseException:
            self._restore_isolation()
            raise
        self._in_transaction = True

    def commit(self) -> None:
        if not self._in_transaction:
            raise DatabaseError("commit without an open transaction")
        try:
            self._connection().commit()
        except Exception as exc:
            if isinstance(exc, DatabaseError) or is_conflict(exc):
                failure = self._failed_in_transaction("commit", exc)
            else:
                failure = DatabaseError(f"commit failed: {describe_error(exc)}")
            self._end_transaction(rollback=True)
            raise failure from None
        self._end_transaction(rollback=False)

    def rollback(self) -> None:
        if self._in_transaction:
            self._end_transaction(rollback=True)

    def _end_transaction(self, *, rollback: bool) -> None:
        self._in_transaction = False
        if self._conn is not None:
            self._end_local_transaction(self._conn, rollback=rollback)
        self._restore_isolation()

    def _end_local_transaction(self, conn: Any, *, rollback: bool) -> None:
        """Back to autocommit. Where the rollback itself fails, drop the connection (the server rolls back
        when the session ends) rather than switch autocommit on, which would commit what is open."""
        try:
            if rollback:
                conn.rollback()
            conn.autocommit = True
        except Exception:
            self.close()

    def _restore_isolation(self) -> None:
        """READ COMMITTED again after a SNAPSHOT transaction; a session that cannot be set back is dropped."""
        if not self._snapshot:
            return
        self._snapshot = False
        if self._conn is None:
            return  # a new session starts in READ COMMITTED
        try:
            self._run(BACKEND_STATEMENTS["isolation_read_committed"], (), _nothing)
        except Exception:
            self.close()

    # -- locks --------------------------------------------------------------------------------------
    @contextmanager
    def application_lock(self, name: str, timeout_seconds: float) -> Iterator[None]:
        """``sp_getapplock`` (exclusive, session owner, bounded wait) on this connection, which will not
        reconnect silently while the lock is held."""
        try:
            row = self._cursor_run(
                BACKEND_STATEMENTS["application_lock"],
                (name, int(timeout_seconds * 1000)),
                lambda c: c.fetchone(),
                "take the lock",
            )
        except DatabaseError:
            self._release_quietly(name)  # the call may have got the lock before the batch failed
            raise
        code = None if row is None or row[0] is None else int(row[0])
        if code == -1:
            raise LockTimeout(f"another run holds the '{name}' lock (waited {timeout_seconds:g} s)")
        if code not in (0, 1):
            meaning = "no return code" if code is None else APPLOCK_FAILURES.get(code, "an undocumented code")
            raise DatabaseError(f"sp_getapplock for '{name}' returned {code}: {meaning}")
        self._held_locks.add(name)
        try:
            yield
        finally:
            self._held_locks.discard(name)
            self._release_quietly(name)

    def _release_quietly(self, name: str) -> None:
        """Release on this session, never on a new one: a lost session took its lock with it."""
        if self._conn is not None:
            try:
                self._run(BACKEND_STATEMENTS["application_lock_release"], (name,), _nothing)
            except Exception:
                pass

    def assert_lock_held(self, name: str) -> None:
        if name not in self._held_locks:
            raise LockLost(f"the '{name}' lock is not held")
        try:
            row = self._run(BACKEND_STATEMENTS["application_lock_mode"], (name,), lambda c: c.fetchone())
        except Exception as exc:
            raise LockLost(f"the '{name}' lock is gone with its connection: {describe_error(exc)}") from None
        if not row or row[0] != "Exclusive":
            raise LockLost(f"the '{name}' lock is no longer held")

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:
            pass
        self._conn = None


def connect_mssql(server: str, database: str, settings: Settings) -> MssqlDatabase:
    return MssqlDatabase(server, database, settings)
