"""The embedded database's streams: inside a transaction they read that transaction's snapshot."""

from scout.db.duckdb_backend import DuckDBDatabase


def test_a_stream_inside_a_transaction_sees_the_transaction_and_leaves_its_connection_open(tmp_path):
    db = DuckDBDatabase(str(tmp_path / "s.duckdb"))
    try:
        db.execute("CREATE TABLE dbo.t (id INT)")
        with db.transaction():
            db.execute("INSERT INTO dbo.t VALUES (1), (2)")
            batches = db.stream_arrow("SELECT id FROM dbo.t ORDER BY id")
            streamed = [v for batch in batches for v in batch["id"].to_pylist()]
            assert streamed == [1, 2]  # a separate cursor would not see the uncommitted rows
            assert db.query_one("SELECT COUNT(*) FROM dbo.t")[0] == 2  # the stream did not close the connection
        columns, chunks = db.stream("SELECT id FROM dbo.t ORDER BY id")
        assert db.query_one("SELECT MAX(id) FROM dbo.t")[0] == 2  # outside: a query while a stream is open
        assert [row for chunk in chunks for row in chunk] == [(1,), (2,)]
    finally:
        db.close()


def test_a_checkpoint_while_another_connection_writes_is_skipped_not_an_error(tmp_path):
    path = str(tmp_path / "c.duckdb")
    writer, db = DuckDBDatabase(path), DuckDBDatabase(path)
    try:
        db.execute("CREATE TABLE dbo.t (id INT PRIMARY KEY, beat INT)")
        db.execute("INSERT INTO dbo.t VALUES (1, 0)")
        with writer.transaction():
            writer.execute("UPDATE dbo.t SET beat = 1 WHERE id = 1")  # a lease heartbeat, mid-transaction
            db.execute("INSERT INTO dbo.t VALUES (2, 0)")
            db.checkpoint()  # DuckDB: "Cannot CHECKPOINT: there are other write transactions active"
        db.checkpoint()  # and once the writer is done, it checkpoints
        assert db.query("SELECT id, beat FROM dbo.t ORDER BY id") == [(1, 1), (2, 0)]
    finally:
        writer.close()
        db.close()
