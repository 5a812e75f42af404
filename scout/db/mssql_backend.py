"""Azure SQL through pyodbc + ODBC Driver 18, authenticated with a Microsoft Entra access token.

pyodbc is imported here only, so the embedded default runs without unixODBC. Transient faults
(scout.db.retry) are retried with back-off, reconnecting first; errors never carry a secret.
"""

from __future__ import annotations

import logging
import struct
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from scout.config import ConfigError, Settings
from scout.db.base import Database, DatabaseError, LockLost, LockTimeout, Row, fetch_chunks
from scout.db.retry import RetryPolicy, error_parts, is_transient

log = logging.getLogger("scout.db.mssql")

#: ODBC connection attribute that takes an Entra access token (msodbcsql.h).
SQL_COPT_SS_ACCESS_TOKEN = 1256
TOKEN_SCOPE = "https://database.windows.net/.default"


class TransientDatabaseError(DatabaseError):
    """Azure SQL kept failing with transient faults until the attempts ran out."""


def pack_access_token(token: str) -> bytes:
    """The token as ODBC wants it: a 4-byte little-endian length, then UTF-16-LE bytes."""
    raw = token.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw


def describe_error(exc: BaseException) -> str:
    """A one-line cause with SQLSTATE, never the connection string."""
    sqlstate, message = error_parts(exc)
    message = " ".join(message.split())
    return f"[{sqlstate}] {message}" if sqlstate and f"[{sqlstate}]" not in message else message


class MssqlDatabase(Database):
    dialect = "tsql"

    def __init__(self, server: str, database: str, settings: Settings, *,
                 connect_fn: Callable[..., Any] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.server, self.database, self.settings = server, database, settings
        self.display_name = f"mssql://{server}/{database}"
        self.policy = RetryPolicy(settings["SCOUT_RETRY_ATTEMPTS"], settings["SCOUT_RETRY_FIRST_WAIT_SECONDS"],
                                  settings["SCOUT_RETRY_MAX_WAIT_SECONDS"])
        self._connect_fn = connect_fn
        self._sleep = sleep
        self._conn: Any = None
        self._in_transaction = False
        self._held_locks: set[str] = set()
        self._conn = self._with_retry("connect", self._open)

    # -- connecting ---------------------------------------------------------------------------------
    def _connection_string(self) -> tuple[str, dict[int, bytes]]:
        driver = self.settings["SCOUT_ODBC_DRIVER"]
        host, _, port = self.server.partition(",")
        parts = [f"Driver={{{driver}}}", f"Server=tcp:{host},{port or 1433}", f"Database={self.database}",
                 "Encrypt=yes", "TrustServerCertificate=no", "Connection Timeout=30"]
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
        conn = connect(conn_str, attrs_before=attrs or None, autocommit=True)
        return conn

    def _with_retry(self, what: str, action: Callable[[], Any], *, reconnect: bool = False) -> Any:
        """Run ``action``; on a transient fault wait, reconnect if asked, and try again."""
        waits = list(self.policy.waits())
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except Exception as exc:  # pyodbc.Error and friends
                if isinstance(exc, (ConfigError, DatabaseError)):
                    raise
                if not is_transient(exc):
                    raise DatabaseError(f"{what} failed: {describe_error(exc)}") from None
                if attempt > len(waits):
                    raise TransientDatabaseError(
                        f"{what} on {self.display_name} failed {attempt} time(s) with transient faults; "
                        f"last cause: {describe_error(exc)}") from None
                wait = waits[attempt - 1]
                log.warning("transient fault on %s (attempt %d/%d), retrying in %.1f s: %s",
                            what, attempt, self.policy.attempts, wait, describe_error(exc))
                self._sleep(wait)
                if reconnect:
                    self._reconnect()

    def _reconnect(self) -> None:
        if self._held_locks:
            # the lock lived on the dropped session: never reconnect silently under it
            raise LockLost(f"connection lost while holding {', '.join(sorted(self._held_locks))}")
        self.close()
        self._conn = self._open()

    # -- statements ---------------------------------------------------------------------------------
    def _cursor_run(self, sql: str, params: Sequence[Any], fetch: Callable[[Any], Any]) -> Any:
        def action() -> Any:
            if self._conn is None:
                self._conn = self._open()
            cursor = self._conn.cursor()
            try:
                cursor.execute(sql, *([list(params)] if params else []))
                return fetch(cursor)
            finally:
                cursor.close()

        if self._in_transaction:  # a retry would silently lose the transaction's earlier work
            try:
                return action()
            except Exception as exc:
                if isinstance(exc, DatabaseError):
                    raise
                kind = TransientDatabaseError if is_transient(exc) else DatabaseError
                raise kind(f"statement failed inside a transaction: {describe_error(exc)}") from None
        return self._with_retry("statement", action, reconnect=True)

    def execute(self, tsql: str, params: Sequence[Any] = ()) -> int:
        return self._cursor_run(tsql, params, lambda c: c.rowcount)

    def execute_native(self, native_sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor_run(native_sql, params, lambda c: None)

    def executemany(self, tsql: str, rows: Sequence[Sequence[Any]]) -> None:
        def action() -> None:
            cursor = self._conn.cursor()
            try:
                cursor.fast_executemany = True
                cursor.executemany(tsql, [list(r) for r in rows])
            finally:
                cursor.close()

        if self._in_transaction:
            try:
                return action()
            except Exception as exc:
                raise DatabaseError(f"bulk insert failed inside a transaction: {describe_error(exc)}") from None
        self._with_retry("bulk insert", action, reconnect=True)

    def query(self, tsql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._cursor_run(tsql, params, lambda c: [tuple(r) for r in c.fetchall()])

    def stream(self, tsql: str, params: Sequence[Any] = (), chunk_size: int = 10_000
               ) -> tuple[list[str], Iterator[list[Row]]]:
        cursor = self._with_retry("query", lambda: self._execute_cursor(tsql, params), reconnect=True)
        columns = [d[0] for d in cursor.description]

        return columns, fetch_chunks(cursor, chunk_size, describe_error)

    def _execute_cursor(self, tsql: str, params: Sequence[Any]) -> Any:
        if self._conn is None:
            self._conn = self._open()
        cursor = self._conn.cursor()
        cursor.execute(tsql, *([list(params)] if params else []))
        return cursor

    # -- transactions -------------------------------------------------------------------------------
    def begin(self) -> None:
        if self._conn is None:
            self._conn = self._with_retry("connect", self._open)
        self._conn.autocommit = False
        self._in_transaction = True

    def commit(self) -> None:
        try:
            self._conn.commit()
        except Exception as exc:
            raise DatabaseError(f"commit failed: {describe_error(exc)}") from None
        finally:
            self._in_transaction = False
            self._restore_autocommit()

    def rollback(self) -> None:
        if not self._in_transaction:
            return
        self._in_transaction = False
        try:
            self._conn.rollback()
        except Exception:
            pass
        self._restore_autocommit()

    def _restore_autocommit(self) -> None:
        try:
            self._conn.autocommit = True
        except Exception:
            pass

    # -- locks --------------------------------------------------------------------------------------
    @contextmanager
    def application_lock(self, name: str, timeout_seconds: float) -> Iterator[None]:
        """``sp_getapplock`` (exclusive, session owner, bounded wait) on this connection, which will not
        reconnect silently while the lock is held."""
        sql = ("DECLARE @rc INT; EXEC @rc = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', "
               "@LockOwner = 'Session', @LockTimeout = ?; SELECT @rc")
        row = self._cursor_run(sql, (name, int(timeout_seconds * 1000)), lambda c: c.fetchone())
        code = int(row[0]) if row else -999
        if code == -1:
            raise LockTimeout(f"another run holds the '{name}' lock (waited {timeout_seconds:g} s)")
        if code < 0:
            raise DatabaseError(f"sp_getapplock for '{name}' returned {code}")
        self._held_locks.add(name)
        try:
            yield
        finally:
            self._held_locks.discard(name)
            try:
                self._cursor_run("EXEC sp_releaseapplock @Resource = ?, @LockOwner = 'Session'", (name,),
                                 lambda c: None)
            except DatabaseError:
                pass  # the session is gone, and the lock with it

    def assert_lock_held(self, name: str) -> None:
        if name not in self._held_locks:
            raise LockLost(f"the '{name}' lock is not held")
        try:
            row = self._conn.cursor().execute("SELECT APPLOCK_MODE('public', ?, 'Session')", name).fetchone()
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
