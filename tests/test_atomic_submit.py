"""Submitting long work: the run's record and its queue message are written as one. Whichever fails, no
record is left claiming work that no worker will do, and a storage outage answers within seconds.

Storage is really down in these tests: Azurite stopped at a chosen moment, a closed port on 127.0.0.1, or
a listener there that never answers."""

import json
import socket
import threading
import time

import pytest

from scout.config import Settings
from scout.db import connect
from scout.jobs import dispatch
from scout.jobs.runs import JobFailed, get_run, now_utc
from scout.storage import FAIL_FAST, StorageUnavailable, send_all
from tests.conftest import PrivateAzurite, _free_port, call_http, storage_at


class AnswerLosingProxy:
    """A TCP proxy on 127.0.0.1 in front of a storage port that passes every request on, and every answer
    back except those to a queue message being sent: storage has the message, its sender never hears so."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, server]
            lost = threading.Event()
            threading.Thread(target=self._pump, args=(client, server, lost, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, lost, False), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, lost: threading.Event, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and data.startswith(b"POST ") and b"/messages" in data.split(b"\r\n", 1)[0]:
                    lost.set()  # from now on, this connection's answers are lost
                if requests or not lost.is_set():
                    sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def private_azurite():
    storage = PrivateAzurite()
    try:
        yield storage
    finally:
        storage.stop()


@pytest.fixture
def shared_storage(migrated, azurite, monkeypatch):
    """The session's Azurite; the job messages a test leaves there are removed after it, so that no other
    test's worker finds them."""
    from scout.storage import queue_client

    settings = settings_with_storage(monkeypatch, azurite)
    yield settings
    queue_client(settings, dispatch.JOBS_QUEUE).clear_messages()


def settings_with_storage(monkeypatch, connection_string: str) -> Settings:
    monkeypatch.setenv("AzureWebJobsStorage", connection_string)
    return Settings.from_env()


def runs_of(settings: Settings) -> list[tuple[str, str, str | None]]:
    with connect(settings) as db:
        return [tuple(r) for r in db.query("SELECT job, status, error FROM ops.job_runs WHERE trigger_type = 'http'")]


def test_storage_down_fails_within_seconds_before_anything_is_recorded(migrated, monkeypatch):
    settings = settings_with_storage(monkeypatch, storage_at(_free_port()))  # nothing listens there

    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="storage unavailable while creating queue scout-jobs") as failure:
        dispatch.submit("personas.infer", {"full": False}, settings=settings)

    assert time.monotonic() - started < 10  # the SDK's own policy took 77-90 s
    assert failure.value.retry_after == 30 and failure.value.run_id is None
    assert runs_of(settings) == []


def test_storage_that_goes_down_after_the_record_fails_the_run_in_the_same_call(migrated, monkeypatch, private_azurite):
    """The queue exists, the run is recorded, then storage is gone when the message is sent."""
    import scout.storage

    settings = settings_with_storage(monkeypatch, private_azurite.connection_string)
    real_queue_client = scout.storage.queue_client

    def queue_then_outage(*args, **kwargs):
        client = real_queue_client(*args, **kwargs)  # creates the queue on the live Azurite
        private_azurite.stop()
        return client

    monkeypatch.setattr(scout.storage, "queue_client", queue_then_outage)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="storage unavailable while queueing job personas.infer") as failure:
        dispatch.submit("personas.infer", {"full": True}, settings=settings)

    assert time.monotonic() - started < 10
    [(job, status, error)] = runs_of(settings)
    assert (job, status) == ("personas.infer", "failed") and error.startswith("could not enqueue: storage unavailable")
    with connect(settings) as db:
        run = get_run(db, failure.value.run_id)
    assert run["status"] == "failed" and run["finished_at"] is not None


def test_a_message_the_queue_refuses_fails_the_run_too(shared_storage):
    """Not an outage (the message is over the queue's 64 KiB): the run fails, the caller learns why."""
    settings = shared_storage

    with pytest.raises(JobFailed, match="could not enqueue job exports.flat") as failure:
        dispatch.submit("exports.flat", {"formats": ["csv"] * 20_000}, settings=settings)

    with connect(settings) as db:
        run = get_run(db, failure.value.run_id)
    assert run["status"] == "failed" and run["error"].startswith("could not enqueue")


def test_a_storage_that_never_answers_fails_within_seconds(migrated, monkeypatch):
    """Connected, the request sent, no answer: the read timeout (FAIL_FAST) ends it, not the SDK's 60 s x 4."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts the connections; nobody ever reads or answers them
    try:
        settings = settings_with_storage(monkeypatch, storage_at(silent.getsockname()[1]))
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            dispatch.submit("personas.infer", {}, settings=settings)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    # two attempts of read_timeout each, and the pause between them
    assert elapsed < 2 * FAIL_FAST["read_timeout"] + 2.5
    assert runs_of(settings) == []


def test_send_all_says_how_many_messages_went_out_before_the_outage(private_azurite, monkeypatch):
    from scout.storage import queue_client

    queue = queue_client(settings_with_storage(monkeypatch, private_azurite.connection_string), "scout-batches-test")

    def batches():
        yield "batch 0"
        yield "batch 1"
        private_azurite.stop()
        yield "batch 2"

    with pytest.raises(StorageUnavailable) as failure:
        send_all(queue, batches(), what="queueing batches")
    assert failure.value.sent == 2


def test_a_run_failed_as_unsent_is_never_run_by_a_late_delivery(shared_storage):
    """The send seemed to fail, but storage had the message: its delivery finds the run failed and does nothing."""
    settings = shared_storage
    submitted = dispatch.submit("migrations.apply", {"dry_run": True}, settings=settings)
    with connect(settings) as db:  # what submit records when the send seems to fail
        db.execute(dispatch.FAIL_UNSENT, (now_utc(), "could not enqueue: lost answer", submitted["run_id"]))
    body = json.dumps({"job": "migrations.apply", "run_id": submitted["run_id"], "params": {"dry_run": True}})

    assert dispatch.run_message(body, settings=settings) is None
    with connect(settings) as db:
        assert get_run(db, submitted["run_id"])["status"] == "failed"


def test_two_deliveries_of_one_message_run_it_once(shared_storage):
    """At-least-once delivery (or a send retried after a lost answer): the first delivery claims the run."""
    settings = shared_storage
    submitted = dispatch.submit("migrations.apply", {"dry_run": True}, settings=settings)
    body = json.dumps({"job": "migrations.apply", "run_id": submitted["run_id"], "params": {"dry_run": True}})
    results, barrier = [], threading.Barrier(2)

    def deliver():
        barrier.wait()
        results.append(dispatch.run_message(body, settings=settings))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(r is None for r in results) == [False, True]
    with connect(settings) as db:
        assert get_run(db, submitted["run_id"])["status"] == "succeeded"


def test_a_send_whose_answer_is_lost_leaves_the_run_to_the_worker_that_got_it(migrated, monkeypatch, private_azurite):
    """Storage takes the message but its answer never arrives (a real proxy drops it); a worker runs the job
    meanwhile. The sender times out and retries (a second, duplicate message), then gives up -- and finds
    the run already taken, so it neither fails it nor reports an error. The duplicate runs nothing."""
    from scout.storage import queue_client

    monkeypatch.setitem(FAIL_FAST, "read_timeout", 1.5)  # the production 4 s only make the test slower
    proxy = AnswerLosingProxy(private_azurite.port)
    settings = settings_with_storage(monkeypatch, storage_at(proxy.port))
    direct = Settings.from_env(AzureWebJobsStorage=private_azurite.connection_string)
    delivered, stop = [], threading.Event()
    queue = queue_client(direct, dispatch.JOBS_QUEUE)  # the worker's own way in, past the proxy

    def worker():
        while not stop.is_set():
            for message in queue.receive_messages(max_messages=8, visibility_timeout=30):
                delivered.append(dispatch.run_message(message.content, settings=settings))
                queue.delete_message(message)
            time.sleep(0.05)

    thread = threading.Thread(target=worker)
    try:
        thread.start()
        submitted = dispatch.submit("personas.infer", {}, settings=settings)
        time.sleep(0.5)  # the duplicate's delivery
    finally:
        stop.set()
        thread.join(30)
        proxy.close()

    assert submitted["status"] == "succeeded"  # what the worker made of it
    assert len(delivered) == 2 and sum(d is None for d in delivered) == 1  # sent twice, run once
    with connect(settings) as db:
        run = get_run(db, submitted["run_id"])
    assert run["status"] == "succeeded" and run["error"] is None


def test_the_statements_that_settle_a_run_are_portable_tsql():
    """FAIL_UNSENT is sent only when a send fails, which ``scout sql render`` never sees: checked here as
    render's statements are, by our lint and by sqlfluff's T-SQL grammar."""
    from scout.sql.lint import lint_batch
    from tests.test_sql_sqlfluff import as_server_receives, parse_problems

    for name, statement in (("FAIL_UNSENT", dispatch.FAIL_UNSENT), ("CLAIM", dispatch.CLAIM)):
        assert not [str(e) for e in lint_batch(name, 1, statement, portable=True) if e.is_error], name
        assert parse_problems(as_server_receives(statement)) == (), name


def test_http_submit_with_storage_down_is_a_fast_503_with_retry_after(migrated, functions, monkeypatch):
    settings_with_storage(monkeypatch, storage_at(_free_port()))

    started = time.monotonic()
    status, body, response = call_http(
        functions, "personas_infer", "POST", "http://host/api/personas/infer", body='{"full": true}'
    )

    assert time.monotonic() - started < 10
    assert status == 503 and response.headers["Retry-After"] == "30"
    assert body["error"] == "storage_unavailable" and "storage unavailable" in body["message"]
    assert runs_of(migrated) == []


def test_reading_the_latest_blob_export_with_storage_down_is_storage_unavailable_within_seconds(monkeypatch):
    """GET /api/exports/flat/latest against a Blob destination answers 503 fast, not after the SDK's retries."""
    from scout.exports.destinations import BlobDestination

    port = _free_port()  # nothing listens there
    settings = settings_with_storage(monkeypatch, storage_at(port))
    destination = BlobDestination(f"http://127.0.0.1:{port}/devstoreaccount1/exports", settings)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="reading the latest export"):
        destination.latest()
    assert time.monotonic() - started < 10
