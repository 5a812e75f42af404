"""Work that truly runs at once: threads, each with its own database connection, released together."""

from __future__ import annotations

import threading

from scout.db import connect


def at_once(settings, work, count=8):
    """``work(db, i)`` in ``count`` threads, each with its own connection, released together by a barrier;
    returns what each returned and fails with every error any of them raised."""
    barrier, errors, results = threading.Barrier(count), [], [None] * count

    def worker(i):
        try:
            with connect(settings) as db:
                barrier.wait()
                results[i] = work(db, i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results
