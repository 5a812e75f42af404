"""A fake ``pyodbc`` in front of a scripted Azure SQL: the DB-API edge this machine cannot reach.

``FakePyodbc().connect`` is passed to ``MssqlDatabase(..., connect_fn=...)``. It models the driver and the
server as pyodbc 5 + ODBC Driver 18 + Azure SQL behave, never our code:

- Errors are pyodbc's own exception classes, picked from the SQLSTATE as pyodbc does (``src/errors.cpp``),
  with ``args == (sqlstate, "[sqlstate] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]text (number)
  (SQLExecDirectW)")``; pyodbc's own errors ("No results.  Previous SQL was not a query.") carry the one
  message only, as ``PyErr_SetString`` makes them.
- A batch runs statement by statement as the client consumes its results: ``execute`` runs up to the first
  result (a result set, or a row count while ``NOCOUNT`` is OFF); ``nextset`` runs on to the next one, so
  an error of a later statement surfaces there. Closing a cursor with results pending cancels the rest of
  the batch (the driver sends an attention): those statements never run and their errors are never seen.
- Session state lives on the server: ``SET NOCOUNT``, ``SET TRANSACTION ISOLATION LEVEL``, session-owned
  ``sp_getapplock`` locks (released when the session ends), batch variables (``DECLARE``/``EXEC @v =``).
- Transactions: with ``autocommit`` off the first statement opens one (IMPLICIT_TRANSACTIONS); ``commit``
  and ``rollback`` end it; switching ``autocommit`` back on commits it (ODBC). A deadlock (1205) or a
  dropped connection rolls it back on the server. Writes are journaled per transaction, so a test sees what
  was committed (``server.committed``) and every statement that ran (``server.log``).
- SNAPSHOT isolation on a database that does not allow it fails at the first data access (Msg 3952).
- One pending result per connection (no MARS): another statement meanwhile is "Connection is busy".

What each statement answers is scripted per test with ``server.on(pattern, *answers, times=None)``; the
backend's system procedures (``sp_getapplock``, ``sp_releaseapplock``, ``APPLOCK_MODE``), ``SET`` and
``DECLARE`` are answered as SQL Server does, DDL quietly and DML with one affected row unless scripted.
Statements of a batch are told apart by ``;`` (write test batches with them).
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyodbc

Error = pyodbc.Error
DatabaseError = pyodbc.DatabaseError
InterfaceError = pyodbc.InterfaceError
OperationalError = pyodbc.OperationalError
ProgrammingError = pyodbc.ProgrammingError
IntegrityError = pyodbc.IntegrityError
DataError = pyodbc.DataError
InternalError = pyodbc.InternalError
NotSupportedError = pyodbc.NotSupportedError

#: pyodbc's SQLSTATE -> exception class table (src/errors.cpp), first match wins.
_SQLSTATE_CLASSES: tuple[tuple[str, type[Exception]], ...] = (
    ("01002", OperationalError),
    ("08001", OperationalError),
    ("08003", OperationalError),
    ("08004", OperationalError),
    ("08007", OperationalError),
    ("08S01", OperationalError),
    ("0A000", NotSupportedError),
    ("28000", InterfaceError),
    ("40002", IntegrityError),
    ("22", DataError),
    ("23", IntegrityError),
    ("24", ProgrammingError),
    ("25", ProgrammingError),
    ("42", ProgrammingError),
    ("HY001", OperationalError),
    ("HY014", OperationalError),
    ("HYT00", OperationalError),
    ("HYT01", OperationalError),
    ("IM001", InterfaceError),
    ("IM002", InterfaceError),
    ("IM003", InterfaceError),
)
DRIVER = "[Microsoft][ODBC Driver 18 for SQL Server]"
NO_RESULTS = "No results.  Previous SQL was not a query."


def exception_class(sqlstate: str) -> type[Exception]:
    return next((cls for prefix, cls in _SQLSTATE_CLASSES if sqlstate.startswith(prefix)), Error)


# -- diagnostic records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostic:
    """One ODBC diagnostic record; pyodbc turns the first into the exception (with the ODBC function)."""

    sqlstate: str
    number: int
    text: str
    from_server: bool = True

    def error(self, function: str) -> Exception:
        source = f"{DRIVER}[SQL Server]" if self.from_server else DRIVER
        return exception_class(self.sqlstate)(
            self.sqlstate, f"[{self.sqlstate}] {source}{self.text} ({self.number}) ({function})"
        )


def login_timeout() -> Diagnostic:
    return Diagnostic("HYT00", 0, "Login timeout expired", from_server=False)


def link_failure() -> Diagnostic:
    """The TCP connection is gone (failover, idle reset): Linux msodbcsql's wording."""
    return Diagnostic("08S01", 10054, "TCP Provider: Error code 0x2746", from_server=False)


def database_unavailable(database: str = "scout", server: str = "srv") -> Diagnostic:
    """Msg 40613: the database is moving (failover, reconfiguration) and refuses logins for a while."""
    return Diagnostic(
        "42000",
        40613,
        f"Database '{database}' on server '{server}' is not currently available. "
        "Please retry the connection later. If the problem persists, contact customer support, "
        "and provide them the session tracing ID of '{8F1E7A52-0C3B-4C7E-9D55-5B0E2C1F7A11}'.",
    )


def login_failed(user: str = "<token-identified principal>") -> Diagnostic:
    return Diagnostic("28000", 18456, f"Login failed for user '{user}'.")


def deadlock_victim(process_id: int = 57) -> Diagnostic:
    return Diagnostic(
        "40001",
        1205,
        f"Transaction (Process ID {process_id}) was deadlocked on lock resources "
        "with another process and has been chosen as the deadlock victim. Rerun the transaction.",
    )


def snapshot_not_allowed(database: str = "scout") -> Diagnostic:
    return Diagnostic(
        "42000",
        3952,
        f"Snapshot isolation transaction failed accessing database '{database}' "
        "because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow "
        "snapshot isolation.",
    )


def primary_key_violation(constraint: str, table: str, key: str) -> Diagnostic:
    return Diagnostic(
        "23000",
        2627,
        f"Violation of PRIMARY KEY constraint '{constraint}'. Cannot insert "
        f"duplicate key in object '{table}'. The duplicate key value is ({key}).",
    )


def server_error(number: int, text: str, sqlstate: str = "42000") -> Diagnostic:
    return Diagnostic(sqlstate, number, text)


BUSY = Diagnostic("HY000", 0, "Connection is busy with results for another command", from_server=False)


# -- what a statement answers -----------------------------------------------------------------------------


@dataclass
class Rows:
    """A result set. ``drop_after``: the connection drops once that many rows were fetched."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]] = ()
    drop_after: int | None = None


@dataclass
class Count:
    """A DONE token with a row count: a result of its own unless NOCOUNT is ON."""

    n: int


@dataclass
class Fails:
    """The statement fails (its work undone); ``aborts_batch``: the rest of the batch does not run."""

    diagnostic: Diagnostic
    aborts_batch: bool = False


@dataclass
class Deadlock:
    """Chosen as the deadlock victim: the server rolls the whole transaction back and ends the batch."""


@dataclass
class Drop:
    """The connection drops while the statement runs (the server rolls back and ends the session)."""


Answer = Rows | Count | Fails | Deadlock | Drop
Responder = Callable[["Statement"], Iterable[Answer]]


class _Failure(Exception):
    def __init__(self, diagnostic: Diagnostic, ends_batch: bool) -> None:
        self.diagnostic, self.ends_batch = diagnostic, ends_batch


# -- the server -------------------------------------------------------------------------------------------


@dataclass
class Session:
    id: int
    autocommit: bool
    nocount: bool = False
    isolation: str = "READ COMMITTED"
    transaction: list[tuple[str, tuple]] | None = None  # this transaction's writes, not yet committed
    transaction_isolation: str = ""
    alive: bool = True
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Executed:
    """One statement as the server ran it."""

    session: int
    sql: str
    params: tuple
    in_transaction: bool
    isolation: str


@dataclass
class Statement:
    """What a responder sees: the statement, its parameters, the session and the server."""

    sql: str
    params: tuple
    session: Session
    server: FakeSqlServer

    def visible_writes(self, pattern: str) -> list[tuple[str, tuple]]:
        """Committed writes matching ``pattern`` plus this session's own uncommitted ones."""
        own = self.session.transaction or []
        return [w for w in [*self.server.committed, *own] if re.search(pattern, w[0], re.I)]


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    answer: Responder
    times: int | None


_KEYWORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(\w+)", re.S)
_READS_DATA = re.compile(r"\bFROM\b|\bINTO\b|^\s*(?:UPDATE|DELETE|MERGE)\b", re.I)


def _opens_transaction(sql: str, keyword: str) -> bool:
    """IMPLICIT_TRANSACTIONS: DML, DDL and a SELECT from a table open one; SET, DECLARE, EXEC and a
    SELECT of variables or functions do not."""
    if keyword == "SELECT":
        return bool(re.search(r"\bFROM\b", sql, re.I))
    return keyword in ("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "WITH")


def _keyword(sql: str) -> str:
    m = _KEYWORD.match(sql)
    return m.group(1).upper() if m else ""


def _scan(sql: str) -> Iterable[tuple[int, str]]:
    """(position, character) of ``sql`` outside string literals, [identifiers] and comments."""
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            i = sql.find("'", i + 1)
            while i != -1 and sql.startswith("''", i):
                i = sql.find("'", i + 2)
            i = n if i == -1 else i + 1
        elif c == "[":
            j = sql.find("]", i)
            i = n if j == -1 else j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j == -1 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i)
            i = n if j == -1 else j + 2
        else:
            yield i, c
            i += 1


def parameter_markers(sql: str) -> int:
    return sum(1 for _, c in _scan(sql) if c == "?")


def split_statements(sql: str) -> list[str]:
    cuts = [i for i, c in _scan(sql) if c == ";"]
    parts, start = [], 0
    for cut in [*cuts, len(sql)]:
        parts.append(sql[start:cut])
        start = cut + 1
    return [p.strip() for p in parts if p.strip()]


class FakeSqlServer:
    """Sessions, locks, transactions and the script of answers, shared by every connection."""

    def __init__(self, *, allow_snapshot_isolation: bool = True) -> None:
        self.allow_snapshot_isolation = allow_snapshot_isolation
        self.rules: list[_Rule] = []
        self.connect_faults: deque[Diagnostic] = deque()
        self.applock_codes: deque[int] = deque()  # forced sp_getapplock return codes, in order
        self.applocks: dict[str, int] = {}  # resource -> owning session id
        self.committed: list[tuple[str, tuple]] = []
        self.log: list[Executed] = []
        self.logins: list[tuple[str, Any]] = []
        self.sessions: dict[int, Session] = {}
        self._ids = itertools.count(51)

    # -- scripting ------------------------------------------------------------------------------------
    def on(self, pattern: str, *answers: Answer | Responder, times: int | None = None) -> None:
        """Statements matching ``pattern`` (regex, case-insensitive) answer ``answers`` in order (or what a
        callable returns), the next ``times`` times (always when None). Later rules win."""
        if len(answers) == 1 and callable(answers[0]) and not isinstance(answers[0], type):
            respond: Responder = answers[0]  # type: ignore[assignment]
        else:
            respond = lambda _stmt, a=answers: list(a)  # noqa: E731
        self.rules.insert(0, _Rule(re.compile(pattern, re.I | re.S), respond, times))

    def fail_connect(self, *diagnostics: Diagnostic) -> None:
        """The next logins fail with these, one each."""
        self.connect_faults.extend(diagnostics)

    def drop_connections(self) -> None:
        """Every open connection drops now (a failover): their next call fails with 08S01."""
        for session in list(self.sessions.values()):
            self.end_session(session)

    def statements(self, pattern: str = "") -> list[str]:
        return [e.sql for e in self.log if re.search(pattern, e.sql, re.I)]

    # -- sessions -------------------------------------------------------------------------------------
    def login(self, conn_str: str, attrs_before: Any, autocommit: bool) -> Session:
        self.logins.append((conn_str, attrs_before))
        if self.connect_faults:
            raise self.connect_faults.popleft().error("SQLDriverConnect")
        session = Session(next(self._ids), autocommit)
        self.sessions[session.id] = session
        return session

    def end_session(self, session: Session) -> None:
        """Logout or a dropped connection: the open transaction is rolled back, session locks released."""
        session.transaction = None
        session.alive = False
        for resource, owner in list(self.applocks.items()):
            if owner == session.id:
                del self.applocks[resource]
        self.sessions.pop(session.id, None)

    def commit(self, session: Session) -> None:
        if session.transaction is not None:
            self.committed.extend(session.transaction)
        session.transaction = None

    def rollback(self, session: Session) -> None:
        session.transaction = None

    # -- running one statement ------------------------------------------------------------------------
    def run(self, session: Session, sql: str, params: tuple) -> list[Answer]:
        """Run one statement of a batch: the results it sends (counts already filtered by NOCOUNT)."""
        keyword = _keyword(sql)
        if not session.autocommit and session.transaction is None and _opens_transaction(sql, keyword):
            session.transaction, session.transaction_isolation = [], session.isolation
        in_tx = session.transaction is not None
        isolation = session.transaction_isolation if in_tx else session.isolation
        self.log.append(Executed(session.id, sql, params, in_tx, isolation))
        if isolation == "SNAPSHOT" and not self.allow_snapshot_isolation and _READS_DATA.search(sql):
            self.rollback(session)
            raise _Failure(snapshot_not_allowed(), ends_batch=True)
        stmt = Statement(sql, params, session, self)
        answers = self._scripted(stmt)
        if answers is None:
            answers = self._builtin(stmt, keyword)
        results: list[Answer] = []
        for answer in answers:
            if isinstance(answer, Fails):
                raise _Failure(answer.diagnostic, ends_batch=answer.aborts_batch)
            if isinstance(answer, Deadlock):
                self.rollback(session)
                raise _Failure(deadlock_victim(session.id), ends_batch=True)
            if isinstance(answer, Drop):
                self.end_session(session)
                raise _Failure(link_failure(), ends_batch=True)
            if isinstance(answer, Count) and session.nocount:
                continue
            results.append(answer)
        if keyword in ("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP"):
            write = (sql, params)
            if session.transaction is not None:
                session.transaction.append(write)
            else:
                self.committed.append(write)
        return results

    def _scripted(self, stmt: Statement) -> list[Answer] | None:
        for rule in self.rules:
            if rule.pattern.search(stmt.sql):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return list(rule.answer(stmt))
        return None

    def _builtin(self, stmt: Statement, keyword: str) -> list[Answer]:
        sql, session = stmt.sql, stmt.session
        if m := re.fullmatch(r"SET\s+NOCOUNT\s+(ON|OFF)", sql, re.I):
            session.nocount = m.group(1).upper() == "ON"
            return []
        if m := re.fullmatch(r"SET\s+TRANSACTION\s+ISOLATION\s+LEVEL\s+(.+)", sql, re.I):
            session.isolation = " ".join(m.group(1).upper().split())
            return []
        if m := re.fullmatch(r"DECLARE\s+(@\w+)\s+\w+", sql, re.I):
            session.variables[m.group(1).lower()] = None
            return []
        if m := re.fullmatch(
            r"EXEC(?:UTE)?\s+(?:(@\w+)\s*=\s*)?(sp_getapplock|sp_releaseapplock)\s+(.*)", sql, re.I | re.S
        ):
            code, answers = self._applock(session, m.group(2).lower(), _named_arguments(m.group(3), stmt.params))
            if m.group(1):
                session.variables[m.group(1).lower()] = code
            return answers
        if m := re.fullmatch(r"SELECT\s+(@\w+)(?:\s+AS\s+(\w+))?", sql, re.I):
            return [Rows([m.group(2) or ""], [(session.variables.get(m.group(1).lower()),)])]
        if re.fullmatch(r"SELECT\s+APPLOCK_MODE\s*\(\s*'public'\s*,\s*\?\s*,\s*'Session'\s*\)", sql, re.I):
            held = self.applocks.get(stmt.params[0]) == session.id
            return [Rows([""], [("Exclusive" if held else "NoLock",)])]
        if keyword in ("CREATE", "ALTER", "DROP"):
            return []
        if keyword in ("INSERT", "UPDATE", "DELETE", "MERGE"):
            return [Count(1)]
        raise AssertionError(f"fake SQL Server: no answer scripted for {sql!r}")

    def _applock(self, session: Session, proc: str, args: dict[str, Any]) -> tuple[int, list[Answer]]:
        resource = args.get("resource")
        if proc == "sp_releaseapplock":
            if self.applocks.get(resource) != session.id:
                raise _Failure(
                    server_error(
                        1223,
                        f"Cannot release the application lock (Database Principal: "
                        f"'public', Resource: '{resource}') because it is not currently "
                        "held.",
                    ),
                    ends_batch=False,
                )
            del self.applocks[resource]
            return 0, [Count(1)]
        if self.applock_codes:
            code = self.applock_codes.popleft()
        else:
            owner = self.applocks.get(resource)
            code = -1 if owner is not None and owner != session.id else 0
        if code >= 0:
            self.applocks[resource] = session.id
        # The lock manager's bookkeeping inside the procedure reports a row count (a result of its own
        # unless NOCOUNT is ON), as pyodbc users found (mkleehammer/pyodbc#277).
        return code, [Count(1)]


def _named_arguments(text: str, params: tuple) -> dict[str, Any]:
    values = iter(params)
    args: dict[str, Any] = {}
    for name, value in re.findall(r"@(\w+)\s*=\s*(\?|N?'(?:[^']|'')*'|-?\d+)", text):
        if value == "?":
            args[name.lower()] = next(values)
        elif value.endswith("'"):
            args[name.lower()] = value[value.index("'") + 1 : -1].replace("''", "'")
        else:
            args[name.lower()] = int(value)
    return args


# -- the driver -------------------------------------------------------------------------------------------


class FakeConnection:
    def __init__(self, server: FakeSqlServer, session: Session) -> None:
        self.server, self.session = server, session
        self.closed = False
        self.busy_with: FakeCursor | None = None

    def _usable(self, function: str) -> None:
        if self.closed:
            raise ProgrammingError("Attempt to use a closed connection.")
        if not self.session.alive:
            raise link_failure().error(function)

    @property
    def autocommit(self) -> bool:
        return self.session.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._usable("SQLSetConnectAttr")
        if value and not self.session.autocommit:
            self.server.commit(self.session)  # ODBC: back to autocommit commits the open transaction
        self.session.autocommit = bool(value)

    def cursor(self) -> FakeCursor:
        if self.closed:
            raise ProgrammingError("Attempt to use a closed connection.")
        return FakeCursor(self)

    def execute(self, sql: str, *params: Any) -> FakeCursor:
        return self.cursor().execute(sql, *params)

    def commit(self) -> None:
        self._usable("SQLEndTran")
        self.server.commit(self.session)

    def rollback(self) -> None:
        self._usable("SQLEndTran")
        self.server.rollback(self.session)

    def close(self) -> None:
        if self.closed:
            raise ProgrammingError("Attempt to use a closed connection.")
        self.closed = True
        if self.session.alive:
            self.server.end_session(self.session)


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.closed = False
        self.fast_executemany = False
        self.arraysize = 1
        self.messages: list[Any] = []
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self._pending: deque[tuple[str, tuple]] = deque()  # statements of the batch not run yet
        self._queued: deque[Answer] = deque()  # results of the statement just run, not reached yet
        self._current: Rows | None = None
        self._fetched = 0

    # -- state ----------------------------------------------------------------------------------------
    def _open(self) -> FakeConnection:
        if self.closed:
            raise ProgrammingError("Attempt to use a closed cursor.")
        return self.connection

    def _discard(self) -> None:
        """Drop pending results; statements not run yet are cancelled (attention)."""
        self._pending.clear()
        self._queued.clear()
        self._current, self.description, self.rowcount = None, None, -1
        if self.connection.busy_with is self:
            self.connection.busy_with = None

    def _settle(self) -> None:
        if not (self._pending or self._queued or self._rows_left()) and self.connection.busy_with is self:
            self.connection.busy_with = None

    def _rows_left(self) -> bool:
        return self._current is not None and self._fetched < len(self._current.rows)

    def _advance(self, function: str) -> bool:
        """Run on to the next result; False when the batch has none left."""
        conn = self.connection
        while not self._queued and self._pending:
            sql, params = self._pending.popleft()
            try:
                self._queued.extend(conn.server.run(conn.session, sql, params))
            except _Failure as failure:
                if failure.ends_batch or not conn.session.alive:
                    self._pending.clear()
                self._current, self.description, self.rowcount = None, None, -1
                self._settle()
                raise failure.diagnostic.error(function) from None
        if not self._queued:
            self._current, self.description, self.rowcount = None, None, -1
            self._settle()
            return False
        result = self._queued.popleft()
        self._fetched = 0
        if isinstance(result, Rows):
            self._current = result
            self.description = [(name, str, None, 0, 0, 0, True) for name in result.columns]
            self.rowcount = -1
        else:
            self._current, self.description, self.rowcount = None, None, result.n
        self._settle()
        return True

    # -- DB-API ---------------------------------------------------------------------------------------
    def execute(self, sql: str, *params: Any) -> FakeCursor:
        conn = self._open()
        self._discard()
        values = tuple(params[0]) if len(params) == 1 and isinstance(params[0], (list, tuple)) else tuple(params)
        markers = parameter_markers(sql)
        if markers != len(values):
            raise ProgrammingError(
                f"The SQL contains {markers} parameter markers, but {len(values)} parameters were supplied", "HY000"
            )
        function = "SQLExecute" if values else "SQLExecDirectW"
        conn._usable(function)
        if conn.busy_with is not None and conn.busy_with is not self:
            raise BUSY.error(function)
        conn.session.variables = {}  # variables live for one batch
        statements, rest = [], iter(values)
        for statement in split_statements(sql):
            statements.append((statement, tuple(itertools.islice(rest, parameter_markers(statement)))))
        self._pending.extend(statements)
        conn.busy_with = self
        self._advance(function)
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> None:
        rows = list(seq_of_params)
        if not rows:
            raise ProgrammingError("The second parameter to executemany must not be empty.")
        for row in rows:  # in autocommit mode each parameter set is its own statement, committed alone
            self.execute(sql, list(row))
            while self.nextset():
                pass
        self.rowcount = -1

    def nextset(self) -> bool:
        conn = self._open()
        conn._usable("SQLMoreResults")
        self._current = None
        try:
            return self._advance("SQLMoreResults")
        except Exception:
            self._discard()  # pyodbc frees the statement after a failed SQLMoreResults
            raise

    def _fetch(self, limit: int | None) -> list[tuple]:
        conn = self._open()
        if self.description is None or self._current is None:
            raise ProgrammingError(NO_RESULTS)
        conn._usable("SQLFetch")
        result, rows = self._current, []
        while self._fetched < len(result.rows) and (limit is None or len(rows) < limit):
            if result.drop_after is not None and self._fetched >= result.drop_after:
                conn.server.end_session(conn.session)
                self._discard()
                raise link_failure().error("SQLFetch")
            rows.append(tuple(result.rows[self._fetched]))
            self._fetched += 1
        self._settle()
        return rows

    def fetchone(self) -> tuple | None:
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        return self._fetch(size or self.arraysize)

    def fetchall(self) -> list[tuple]:
        return self._fetch(None)

    def close(self) -> None:
        self._open()
        self._discard()
        self.closed = True

    def __del__(self) -> None:  # pyodbc frees the statement handle when the cursor is collected
        if not self.closed:
            self._discard()


class FakePyodbc:
    """Module-like: ``connect`` and pyodbc's exception classes; ``server`` is the scripted Azure SQL."""

    Error, DatabaseError, InterfaceError, OperationalError = Error, DatabaseError, InterfaceError, OperationalError
    ProgrammingError, IntegrityError, DataError = ProgrammingError, IntegrityError, DataError
    InternalError, NotSupportedError = InternalError, NotSupportedError

    def __init__(self, server: FakeSqlServer | None = None) -> None:
        self.server = server or FakeSqlServer()
        self.connections: list[FakeConnection] = []

    def connect(
        self, connstring: str, attrs_before: Any = None, autocommit: bool = False, timeout: int = 0, **_: Any
    ) -> FakeConnection:
        conn = FakeConnection(self.server, self.server.login(connstring, attrs_before, autocommit))
        self.connections.append(conn)
        return conn
