"""The Azure SQL backend against what a real server does, through a fake pyodbc at the DB-API edge.

``tests/fakes/fake_pyodbc.py`` behaves as pyodbc + ODBC Driver 18 + Azure SQL do: errors of later statements
surface on ``nextset``, logins time out or meet a failing-over database (40613), connections drop mid-statement
or mid-fetch, a deadlock victim's transaction is rolled back by the server, ``sp_getapplock`` answers its return
codes, and row counts are results of their own unless ``SET NOCOUNT ON``.
"""

import pytest

from scout.config import Settings
from scout.db.base import DatabaseError, LockLost, LockTimeout, TransactionConflict
from scout.db.mssql_backend import BACKEND_STATEMENTS, MssqlDatabase, TransientDatabaseError
from scout.db.retry import error_numbers, error_parts, is_transient
from tests.fakes.azure_wire import FakeEntraCredential
from tests.fakes.fake_pyodbc import (
    NO_RESULTS,
    Count,
    Deadlock,
    Drop,
    Fails,
    FakePyodbc,
    FakeSqlServer,
    Rows,
    database_unavailable,
    deadlock_victim,
    login_failed,
    login_timeout,
    primary_key_violation,
)

LOCK_WITHOUT_NOCOUNT = BACKEND_STATEMENTS["application_lock"].replace("SET NOCOUNT ON; ", "")


@pytest.fixture
def pyodbc(monkeypatch) -> FakePyodbc:
    """A fake pyodbc in front of a fake Azure SQL, reached with an Entra token as in production."""
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **kw: FakeEntraCredential())
    return FakePyodbc()


def open_db(pyodbc: FakePyodbc, *, attempts: int = 3, waits: list | None = None) -> MssqlDatabase:
    settings = Settings.from_env({"SCOUT_RETRY_ATTEMPTS": str(attempts), "SCOUT_RETRY_FIRST_WAIT_SECONDS": "1"})
    return MssqlDatabase(
        "srv.database.windows.net",
        "scout",
        settings,
        connect_fn=pyodbc.connect,
        sleep=(waits.append if waits is not None else lambda _s: None),
    )


def session_of(db: MssqlDatabase):
    """The server-side session behind the backend's connection."""
    return db._conn.session


# -- the fake speaks as pyodbc does -----------------------------------------------------------------------


def test_the_fake_raises_pyodbc_errors_with_sqlstate_and_message_as_pyodbc_formats_them(pyodbc):
    import pyodbc as real

    pyodbc.server.on(r"UPDATE dbo\.stock", Deadlock())
    pyodbc.server.fail_connect(login_timeout())
    with pytest.raises(real.OperationalError) as timeout:
        pyodbc.connect("Driver={ODBC Driver 18 for SQL Server}", autocommit=True)
    assert timeout.value.args == (
        "HYT00",
        "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired (0) (SQLDriverConnect)",
    )

    cursor = pyodbc.connect("Driver={ODBC Driver 18 for SQL Server}", autocommit=True).cursor()
    with pytest.raises(real.Error) as deadlock:
        cursor.execute("UPDATE dbo.stock SET qty = qty - 1")
    sqlstate, message = deadlock.value.args
    assert type(deadlock.value) is real.Error and sqlstate == "40001"  # 40001 has no class of its own in pyodbc
    assert message.startswith("[40001] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Transaction (Process")
    assert message.endswith("Rerun the transaction. (1205) (SQLExecDirectW)")
    assert error_parts(deadlock.value) == (sqlstate, message) and error_numbers(message) == {1205}
    assert is_transient(deadlock.value) and is_transient(database_unavailable().error("SQLDriverConnect"))


def test_a_later_statements_error_surfaces_only_on_nextset_and_closing_early_loses_it(pyodbc):
    import pyodbc as real

    pyodbc.server.on(r"VALUES \(1, N'blue'\)", Fails(primary_key_violation("PK_colours", "dbo.colours", "1")))
    batch = (
        "CREATE TABLE dbo.colours (id INT NOT NULL PRIMARY KEY, name NVARCHAR(20) NOT NULL); "
        "INSERT INTO dbo.colours (id, name) VALUES (1, N'red'); "
        "INSERT INTO dbo.colours (id, name) VALUES (1, N'blue');"
    )
    conn = pyodbc.connect("", autocommit=True)

    cursor = conn.cursor().execute(batch)  # stops at the first result: the first INSERT's row count
    assert cursor.rowcount == 1 and cursor.description is None
    with pytest.raises(real.IntegrityError, match=r"\(2627\) \(SQLMoreResults\)"):
        cursor.nextset()

    quiet = conn.cursor().execute(batch.replace("dbo.colours", "dbo.colours2"))
    quiet.close()  # the driver cancels the rest of the batch: the third statement never runs, nothing is raised
    assert pyodbc.server.statements("colours2")[-1].startswith("INSERT INTO dbo.colours2 (id, name) VALUES (1, N'red')")


def test_a_row_count_before_the_select_makes_fetchone_fail_as_pyodbc_does(pyodbc):
    import pyodbc as real

    cursor = pyodbc.connect("", autocommit=True).cursor()
    cursor.execute(LOCK_WITHOUT_NOCOUNT, "scout-migrations", 1000)
    with pytest.raises(real.ProgrammingError) as failure:
        cursor.fetchone()
    assert failure.value.args == (NO_RESULTS,) == ("No results.  Previous SQL was not a query.",)


# -- finding 3: every result set is read, so a later statement's error is not lost ----------------------------


def ledger_answers(server: FakeSqlServer) -> None:
    """The ledger as SQL Server would answer it: what was inserted into it (committed, or this session's)."""
    from scout.migrations.ledger import _COLUMNS

    ledger = r"ops\.migration_history"
    server.on(r"information_schema\.(schemata|tables)", Rows([""], [(1,)]))
    server.on(
        rf"SELECT installed_rank, .* FROM {ledger}",
        lambda stmt: [Rows(_COLUMNS, [params for _, params in stmt.visible_writes(f"INSERT INTO {ledger}")])],
    )
    server.on(
        rf"COALESCE\(MAX\(installed_rank\), 0\) \+ 1 FROM {ledger}",
        lambda stmt: [Rows([""], [(len(stmt.visible_writes(f"INSERT INTO {ledger}")) + 1,)])],
    )


def test_a_migration_whose_third_statement_fails_is_rolled_back_and_recorded_as_failed(pyodbc, tmp_path):
    from scout.migrations import ledger, runner
    from scout.migrations.files import discover

    (tmp_path / "V001__colours.sql").write_text(
        "CREATE TABLE dbo.colours (id INT NOT NULL PRIMARY KEY, name NVARCHAR(20) NOT NULL);\n"
        "INSERT INTO dbo.colours (id, name) VALUES (1, N'red');\n"
        "INSERT INTO dbo.colours (id, name) VALUES (1, N'blue');\n"
    )
    ledger_answers(pyodbc.server)
    pyodbc.server.on(r"VALUES \(1, N'blue'\)", Fails(primary_key_violation("PK_colours", "dbo.colours", "1")))
    db = open_db(pyodbc)

    with pytest.raises(runner.MigrationError, match=r"V001__colours.sql batch 1: .*Violation of PRIMARY KEY"):
        runner.apply(db, discover(tmp_path))

    assert not any("dbo.colours" in sql for sql, _ in pyodbc.server.committed)  # the batch was rolled back
    state = ledger.current_state(ledger.read_ledger(db))
    [failure] = state.failed.values()
    assert state.applied == {} and failure.script == "V001__colours.sql" and "Violation of PRIMARY KEY" in failure.error


def test_execute_raises_the_error_of_a_later_statement_of_its_batch(pyodbc):
    pyodbc.server.on(r"UPDATE dbo\.b", Fails(primary_key_violation("PK_b", "dbo.b", "7")))
    db = open_db(pyodbc)
    with pytest.raises(DatabaseError, match=r"\[23000\].*\(2627\)"):
        db.execute("UPDATE dbo.a SET x = 1; UPDATE dbo.b SET id = 7;")


# -- finding 4: a failed reconnect stays inside the retry loop ---------------------------------------------


def test_a_failover_seen_while_reconnecting_is_retried_and_the_statement_then_succeeds(pyodbc):
    pyodbc.server.on(r"SELECT COUNT\(\*\) FROM dbo\.Transactions", Rows([""], [(42,)]))
    waits = []
    db = open_db(pyodbc, attempts=4, waits=waits)
    pyodbc.server.drop_connections()  # the database fails over ...
    pyodbc.server.fail_connect(database_unavailable())  # ... and refuses the first login while it moves

    assert db.query("SELECT COUNT(*) FROM dbo.Transactions") == [(42,)]
    assert len(waits) == 2 and len(pyodbc.server.logins) == 3  # first open, refused reconnect, reconnect


def test_a_failover_that_outlasts_the_attempts_is_a_transient_error_and_the_backend_recovers_after(pyodbc):
    pyodbc.server.on(r"SELECT 1 FROM dbo\.Stores", Rows([""], [(1,)]))
    db = open_db(pyodbc, attempts=3)
    pyodbc.server.drop_connections()
    pyodbc.server.fail_connect(database_unavailable(), database_unavailable())

    with pytest.raises(TransientDatabaseError) as failure:
        db.query("SELECT 1 FROM dbo.Stores")
    message = str(failure.value)
    assert "query on mssql://srv.database.windows.net/scout failed 3 time(s)" in message
    assert "last cause (reconnecting)" in message and "(40613)" in message and "not currently available" in message

    assert db.query("SELECT 1 FROM dbo.Stores") == [(1,)]  # the database is back: no AttributeError on None


def test_a_login_refused_on_reconnect_is_a_database_error_naming_the_reconnect(pyodbc):
    db = open_db(pyodbc)
    pyodbc.server.drop_connections()
    pyodbc.server.fail_connect(login_failed())
    with pytest.raises(DatabaseError) as failure:
        db.execute("UPDATE dbo.Stores SET Region = N'NCR'")
    assert not isinstance(failure.value, TransientDatabaseError)
    assert "statement (reconnecting) failed" in str(failure.value) and "Login failed" in str(failure.value)


def test_http_answers_503_retry_later_when_the_failover_outlasts_the_retries(pyodbc):
    import json

    from scout.functions.http import http_handler

    db = open_db(pyodbc, attempts=2)
    pyodbc.server.drop_connections()
    pyodbc.server.fail_connect(database_unavailable(), database_unavailable())

    @http_handler
    def list_runs():
        db.query("SELECT run_id FROM ops.job_runs")

    response = list_runs()
    body = json.loads(response.get_body())
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "failed 2 time(s)" in body["message"] and "internal error" not in body["message"]


def test_a_login_timeout_at_connect_is_retried(pyodbc):
    pyodbc.server.fail_connect(login_timeout())
    waits = []
    db = open_db(pyodbc, waits=waits)
    assert db._conn is not None and len(waits) == 1 and len(pyodbc.server.logins) == 2


# -- finding 5: never reconnect or retry inside a transaction ---------------------------------------------


def test_a_stream_inside_a_transaction_fails_on_a_dropped_connection_instead_of_reading_outside_it(pyodbc):
    pyodbc.server.on(r"FROM dbo\.Transactions", Rows(["Transaction_ID"], [("T1",), ("T2",)]))
    pyodbc.server.on(r"FROM dbo\.Transactions", Drop(), times=1)  # later rules win
    db = open_db(pyodbc)
    db.begin()
    with pytest.raises(TransientDatabaseError, match="inside a transaction"):
        db.stream("SELECT Transaction_ID FROM dbo.Transactions")
    db.rollback()
    assert len(pyodbc.server.logins) == 1  # no reconnect happened under the transaction
    assert pyodbc.server.statements("FROM dbo.Transactions") == ["SELECT Transaction_ID FROM dbo.Transactions"]


def test_query_dicts_inside_a_transaction_does_not_retry_a_stream_dropped_mid_fetch(pyodbc):
    pyodbc.server.on(r"FROM ops\.job_runs", Rows(["run_id"], [("a",), ("b",), ("c",)], drop_after=1))
    db = open_db(pyodbc)
    with pytest.raises(TransientDatabaseError, match="inside a transaction"):
        with db.transaction():
            db.query_dicts("SELECT run_id FROM ops.job_runs")
    assert len(pyodbc.server.logins) == 1


def test_a_stream_outside_a_transaction_is_retried_to_open_but_never_mid_stream(pyodbc):
    pyodbc.server.on(r"FROM ops\.job_runs", Rows(["run_id"], [("a",), ("b",), ("c",)]))
    pyodbc.server.on(r"FROM ops\.job_runs", Drop(), times=1)
    db = open_db(pyodbc)
    assert db.query_dicts("SELECT run_id FROM ops.job_runs") == [{"run_id": "a"}, {"run_id": "b"}, {"run_id": "c"}]
    assert len(pyodbc.server.logins) == 2  # reconnected once: nothing had been read yet

    pyodbc.server.on(r"FROM ops\.job_runs", Rows(["run_id"], [("a",), ("b",), ("c",)], drop_after=2))
    columns, chunks = db.stream("SELECT run_id FROM ops.job_runs", chunk_size=2)
    assert next(chunks) == [("a",), ("b",)]
    with pytest.raises(TransientDatabaseError, match="stream interrupted after 2 rows"):
        next(chunks)


def test_bulk_insert_outside_a_transaction_writes_each_row_once_when_the_connection_drops_midway(pyodbc):
    pyodbc.server.on(r"INSERT INTO dbo\.Stores", lambda stmt: [Drop()] if stmt.params[0] == 3 else [Count(1)], times=3)
    db = open_db(pyodbc)
    db.executemany(
        "INSERT INTO dbo.Stores (StoreID, StoreName) VALUES (?, ?)", [(n, f"store {n}") for n in range(1, 6)]
    )
    written = [params[0] for sql, params in pyodbc.server.committed if sql.startswith("INSERT INTO dbo.Stores")]
    assert written == [1, 2, 3, 4, 5]  # one transaction per call: the retry starts from nothing
    db.executemany("INSERT INTO dbo.Stores (StoreID, StoreName) VALUES (?, ?)", [])  # nothing to write: no error


def test_bulk_insert_inside_a_transaction_is_never_retried_and_a_deadlock_is_a_conflict(pyodbc):
    pyodbc.server.on(r"INSERT INTO dbo\.Stores", lambda stmt: [Deadlock()] if stmt.params[0] == 2 else [Count(1)])
    db = open_db(pyodbc)
    with pytest.raises(TransactionConflict, match="1205"):
        with db.transaction():
            db.executemany("INSERT INTO dbo.Stores (StoreID) VALUES (?)", [(1,), (2,), (3,)])
    assert pyodbc.server.committed == []


def test_begin_reconnects_first_when_the_connection_dropped_while_idle(pyodbc):
    db = open_db(pyodbc)
    pyodbc.server.drop_connections()
    with db.transaction():
        db.execute("INSERT INTO dbo.Stores (StoreID) VALUES (?)", (9,))
    assert pyodbc.server.committed == [("INSERT INTO dbo.Stores (StoreID) VALUES (?)", (9,))]


def test_a_commit_on_a_dropped_connection_is_a_database_error_and_the_next_statement_reconnects(pyodbc):
    pyodbc.server.on(r"FROM dbo\.Stores", Rows([""], [(1,)]))
    db = open_db(pyodbc)
    db.begin()
    db.execute("INSERT INTO dbo.Stores (StoreID) VALUES (?)", (9,))
    pyodbc.server.drop_connections()
    with pytest.raises(DatabaseError, match="commit failed"):
        db.commit()
    assert pyodbc.server.committed == []
    assert db.query("SELECT COUNT(*) FROM dbo.Stores") == [(1,)]


# -- finding 6: the lock batch and sp_getapplock's return codes ---------------------------------------------


def test_without_set_nocount_on_the_lock_could_not_be_taken_and_with_it_it_is(pyodbc, monkeypatch):
    db = open_db(pyodbc)
    assert BACKEND_STATEMENTS["application_lock"].startswith("SET NOCOUNT ON;")

    with monkeypatch.context() as patched:
        patched.setitem(BACKEND_STATEMENTS, "application_lock", LOCK_WITHOUT_NOCOUNT)
        with pytest.raises(DatabaseError, match="Previous SQL was not a query"):
            with db.application_lock("scout-migrations", 1):
                pass

    other = open_db(pyodbc)
    with other.application_lock("scout-migrations", 1):
        other.assert_lock_held("scout-migrations")
        assert pyodbc.server.applocks == {"scout-migrations": session_of(other).id}
    assert pyodbc.server.applocks == {}


def test_after_the_lock_batch_statements_still_report_their_row_counts(pyodbc):
    pyodbc.server.on(r"UPDATE results\.montecarlo_runs", Count(1))
    db = open_db(pyodbc)
    with db.application_lock("scout-migrations", 1):
        won = db.execute("UPDATE results.montecarlo_runs SET status = 'combining' WHERE run_id = ?", ("r",))
    assert won == 1 and not session_of(db).nocount  # SET NOCOUNT outlives the batch: it is set back


@pytest.mark.parametrize(
    "code, outcome",
    [
        (0, "held"),
        (1, "held"),
        (-1, LockTimeout),
        (-2, "cancelled"),
        (-3, "deadlock victim"),
        (-999, "parameter validation"),
    ],
)
def test_sp_getapplock_return_codes(pyodbc, code, outcome):
    pyodbc.server.applock_codes.append(code)
    db = open_db(pyodbc)
    if outcome == "held":
        with db.application_lock("scout-migrations", 2):
            db.assert_lock_held("scout-migrations")
        return
    expected = outcome if isinstance(outcome, type) else DatabaseError
    with pytest.raises(expected) as failure:
        with db.application_lock("scout-migrations", 2):
            pass
    if isinstance(outcome, str):
        assert f"returned {code}: " in str(failure.value) and outcome in str(failure.value)
    else:
        assert "another run holds the 'scout-migrations' lock (waited 2 s)" in str(failure.value)


def test_a_lock_lost_with_its_connection_is_reported_and_never_reconnected_under(pyodbc):
    db = open_db(pyodbc)
    with db.application_lock("scout-migrations", 1):
        pyodbc.server.drop_connections()
        with pytest.raises(LockLost):
            db.assert_lock_held("scout-migrations")
        with pytest.raises(LockLost):
            db.execute("UPDATE dbo.Stores SET Region = N'NCR'")
    assert len(pyodbc.server.logins) == 1


# -- 1205: a deadlock victim's transaction is run again from the start ---------------------------------------


def test_a_deadlock_inside_a_transaction_is_a_conflict_and_retry_transaction_runs_it_again_from_the_start(pyodbc):
    pyodbc.server.on(r"UPDATE dbo\.stock", Deadlock(), times=1)
    db = open_db(pyodbc)

    def move_one(db):
        db.execute("INSERT INTO dbo.moves (sku) VALUES (?)", ("A",))
        db.execute("UPDATE dbo.stock SET qty = qty - 1 WHERE sku = ?", ("A",))
        return "moved"

    assert db.retry_transaction(move_one, what="stock move") == "moved"
    ran = pyodbc.server.statements(r"dbo\.(moves|stock)")
    assert ran == ["INSERT INTO dbo.moves (sku) VALUES (?)", "UPDATE dbo.stock SET qty = qty - 1 WHERE sku = ?"] * 2
    assert [sql.split()[0] for sql, _ in pyodbc.server.committed] == ["INSERT", "UPDATE"]  # once each


def test_a_deadlock_victim_error_names_the_conflict(pyodbc):
    pyodbc.server.on(r"UPDATE dbo\.stock", Deadlock())
    db = open_db(pyodbc)
    with pytest.raises(TransactionConflict) as failure:
        with db.transaction():
            db.execute("UPDATE dbo.stock SET qty = 0")
    assert "rolled back" in str(failure.value) and str(deadlock_victim().number) in str(failure.value)


# -- finding 7: SNAPSHOT isolation for a transaction that must read one snapshot ----------------------------


def test_a_snapshot_transaction_runs_in_snapshot_isolation_and_the_session_is_set_back_after(pyodbc):
    pyodbc.server.on(r"FROM dbo\.Transactions", Rows([""], [(3,)]))
    db = open_db(pyodbc)
    with db.transaction(snapshot=True):
        db.query("SELECT COUNT(*) FROM dbo.Transactions")
        db.query("SELECT COUNT(*) FROM dbo.Transactions WHERE Transaction_ID > ?", ("T1",))
    db.query("SELECT COUNT(*) FROM dbo.Transactions")

    reads = [(e.in_transaction, e.isolation) for e in pyodbc.server.log if "dbo.Transactions" in e.sql]
    assert reads == [(True, "SNAPSHOT"), (True, "SNAPSHOT"), (False, "READ COMMITTED")]
    assert session_of(db).isolation == "READ COMMITTED"
    assert pyodbc.server.statements("ISOLATION LEVEL") == [
        "SET TRANSACTION ISOLATION LEVEL SNAPSHOT",
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    ]


def test_snapshot_isolation_not_allowed_in_the_database_says_how_to_enable_it(monkeypatch):
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **kw: FakeEntraCredential())
    pyodbc = FakePyodbc(FakeSqlServer(allow_snapshot_isolation=False))
    pyodbc.server.on(r"FROM dbo\.Transactions", Rows([""], [(3,)]))
    db = open_db(pyodbc)

    with pytest.raises(DatabaseError) as failure:
        with db.transaction(snapshot=True):
            db.query("SELECT COUNT(*) FROM dbo.Transactions")
    message = str(failure.value)
    assert "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON" in message and "(3952)" in message
    assert "infra/sql/grant-app-identity.sql" in message
    assert db.query("SELECT COUNT(*) FROM dbo.Transactions") == [(3,)]  # the session is back in READ COMMITTED


def test_the_export_reads_its_base_count_and_its_rows_in_one_snapshot_transaction(migrated, tmp_path):
    """READ_COMMITTED_SNAPSHOT gives each statement its own snapshot on Azure SQL: rows ingested between
    the base count and the range reads would make the gate reject a good export."""
    from scout.db import parse_database_url
    from scout.db.duckdb_backend import DuckDBDatabase
    from scout.exports.job import export_in

    class Recording(DuckDBDatabase):
        """What the export asks of its database, in order."""

        def __init__(self, path):
            super().__init__(path)
            self.events = []

        def begin(self, *, snapshot=False):
            self.events.append(("begin", snapshot))
            super().begin(snapshot=snapshot)

        def commit(self):
            self.events.append(("commit",))
            super().commit()

        def query_one(self, tsql, params=()):
            self.events.append(("query", tsql))
            return super().query_one(tsql, params)

        def stream_arrow(self, tsql, params=(), batch_size=50_000, schema=None):
            self.events.append(("stream", tsql))
            return super().stream_arrow(tsql, params, batch_size, schema)

    db = Recording(parse_database_url(migrated.database_url)[2])
    try:
        db.execute("INSERT INTO dbo.Stores VALUES (1, N'Store', N'NCR', N'Quezon City')")
        db.execute("INSERT INTO dbo.Transactions VALUES (?, 1, ?, 10, 1)", ("T1", "2025-09-06 07:05:00"))
        db.execute(
            "INSERT INTO dbo.TransactionItems VALUES (?, 1, N'Coke Mismo', N'Coke', N'Soft Drinks', 1, 10)", ("T1",)
        )
        export_in(db, migrated, "run-1", out=str(tmp_path / "out"), formats=("csv",))
    finally:
        db.close()

    events = db.events
    count = events.index(("query", "SELECT COUNT(*) FROM dbo.Transactions"))
    began = max(i for i, e in enumerate(events[:count]) if e[0] == "begin")
    ended = count + events[count:].index(("commit",))
    assert events[began] == ("begin", True)
    assert any(e[0] == "stream" for e in events[count:ended])  # the rows are read in the same transaction
