"""Several runners at once (function instances, a timer and an HTTP call, CLI processes) never apply a
migration twice: the database file and the migration lock make them take turns."""

import json
import subprocess
import sys
import time

from scout.db import connect
from scout.db.duckdb_backend import DuckDBDatabase


def _apply_process(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scout", "migrate", "apply", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_processes_at_once_apply_each_migration_exactly_once(settings, db_url, tmp_path, monkeypatch):
    import os

    env = {**os.environ, "SCOUT_DATABASE_URL": db_url, "SCOUT_LOCK_TIMEOUT_SECONDS": "60"}
    procs = [_apply_process(env) for _ in range(4)]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]

    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], [err for _, _, err in outcomes]
    applied = [len(json.loads(out)["applied"]) for _, out, _ in outcomes]
    assert sorted(applied)[-1] > 0 and sum(1 for n in applied if n) == 1  # one did the work, the rest found none
    with connect(settings) as db:
        per_version = db.query(
            "SELECT version, COUNT(*) FROM ops.migration_history WHERE success = TRUE "
            "GROUP BY version HAVING COUNT(*) > 1"
        )
        runs = db.query_one("SELECT COUNT(*) FROM ops.job_runs WHERE job = 'migrations.apply'")[0]
    assert per_version == []
    assert runs >= 1


def test_a_run_that_waits_too_long_reports_the_lock_and_exits_3(settings, db_url, tmp_path):
    import os

    holder = DuckDBDatabase(db_url.removeprefix("duckdb:///"))  # another process-like holder of the file
    try:
        lock = holder.application_lock("scout-migrations", 1)
        lock.__enter__()
        env = {**os.environ, "SCOUT_DATABASE_URL": db_url, "SCOUT_LOCK_TIMEOUT_SECONDS": "0.5"}
        done = subprocess.run(
            [sys.executable, "-m", "scout", "migrate", "apply"], env=env, capture_output=True, text=True, timeout=60
        )
        lock.__exit__(None, None, None)
    finally:
        holder.close()

    assert done.returncode == 3
    assert done.stderr.startswith("scout: another run holds") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_the_migration_lock_excludes_a_second_holder_in_the_same_process(tmp_path):
    from scout.db.base import LockTimeout

    path = str(tmp_path / "lock.duckdb")
    first = DuckDBDatabase(path)
    second = DuckDBDatabase(path)
    try:
        with first.application_lock("scout-migrations", 1):
            started = time.monotonic()
            try:
                with second.application_lock("scout-migrations", 0.3):
                    raise AssertionError("two holders at once")
            except LockTimeout as exc:
                assert "another run holds" in str(exc)
            assert time.monotonic() - started >= 0.3
        with second.application_lock("scout-migrations", 0.3):
            second.assert_lock_held("scout-migrations")
    finally:
        first.close()
        second.close()


def test_under_a_short_lock_timeout_each_process_applies_or_reports_the_lock_cleanly(settings, db_url):
    import os

    env = {**os.environ, "SCOUT_DATABASE_URL": db_url, "SCOUT_LOCK_TIMEOUT_SECONDS": "0.2"}
    procs = [_apply_process(env) for _ in range(4)]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]

    for code, out, err in outcomes:
        assert code in (0, 3), err
        if code == 3:  # still one JSON object on stdout, one line on stderr
            assert json.loads(out)["error"] == "locked"
            assert err.startswith("scout: another run holds") and err.count("\n") == 1 and "Traceback" not in err
    assert 0 in [code for code, _, _ in outcomes]
    with connect(settings) as db:
        assert (
            db.query(
                "SELECT version FROM ops.migration_history WHERE success = TRUE GROUP BY version HAVING COUNT(*) > 1"
            )
            == []
        )


def test_opening_a_database_file_another_process_holds_waits_then_raises_lock_timeout(tmp_path):
    from scout.db.base import LockTimeout

    path = str(tmp_path / "held.duckdb")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
            path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        try:
            DuckDBDatabase(path, open_timeout_seconds=0.3).close()
            raise AssertionError("opened a file another process holds")
        except LockTimeout as exc:
            assert "another run holds" in str(exc) and "held.duckdb" in str(exc)
        assert time.monotonic() - started >= 0.3
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    DuckDBDatabase(path, open_timeout_seconds=5).close()  # released: opens at once


def test_a_database_file_still_being_created_by_another_process_is_waited_for(tmp_path):
    """Four processes starting at once on a new file: one creates it, the others may see it before its
    header is written ("not a valid DuckDB database file") and must wait, not fail."""
    import os
    import threading

    import duckdb

    path = tmp_path / "new.duckdb"
    path.write_bytes(b"half-written header")
    ready = tmp_path / "ready.duckdb"
    duckdb.connect(str(ready)).close()
    threading.Timer(0.3, lambda: os.replace(ready, path)).start()

    DuckDBDatabase(str(path), open_timeout_seconds=10).close()


def test_a_file_that_stays_invalid_is_reported_not_waited_on_for_the_whole_timeout(tmp_path):
    from scout.db.base import DatabaseError

    path = tmp_path / "garbage.duckdb"
    path.write_bytes(b"this is not a database")
    started = time.monotonic()
    try:
        DuckDBDatabase(str(path), open_timeout_seconds=30).close()
        raise AssertionError("opened an invalid file")
    except DatabaseError as exc:
        assert "not a valid DuckDB database" in str(exc)
    assert time.monotonic() - started < 10
