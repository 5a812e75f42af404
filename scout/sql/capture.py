"""Record every T-SQL statement job code hands to a ``Database``, with the code that sent it.

The DuckDB backend tells ``scout.db.base.observe_statement`` of each statement before translating it
(``execute``, ``executemany``, ``query``, ``query_one``, ``query_dicts``, ``stream``, ``stream_arrow``);
``recording()`` listens for as long as it is open. The sender is the first caller outside ``scout.db``
(``module.function``), found whichever thread sends (the export reads ahead in a thread of its own).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from scout.db import base

#: Modules whose frames are the database layer or this recorder: never the sender.
_PLUMBING = ("scout.db", "scout.sql.capture")


@dataclass(frozen=True)
class SentStatement:
    sender: str  # module.function of the code that handed the statement to the Database
    tsql: str  # as the code wrote it, with ? markers, before any translation


def _is_plumbing(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in _PLUMBING)


def function_name(code: object) -> str:
    """``outer.inner`` for a function defined in another; lambdas and comprehensions count as the
    function that contains them (``infer.<locals>.<lambda>`` is ``infer``)."""
    qualname = str(getattr(code, "co_qualname", None) or getattr(code, "co_name", "?"))
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    while len(parts) > 1 and parts[-1].startswith("<"):
        parts.pop()
    return ".".join(parts)


def sender_of(frame: object) -> str:
    """``module.function`` of the first frame, from ``frame`` outwards, that is not database plumbing."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "?")  # type: ignore[attr-defined]
        if not _is_plumbing(module):
            return f"{module}.{function_name(frame.f_code)}"  # type: ignore[attr-defined]
        frame = frame.f_back  # type: ignore[attr-defined]
    return "?"


class StatementRecorder:
    """Every statement seen while recording, in the order sent (thread-safe)."""

    def __init__(self) -> None:
        self.sent: list[SentStatement] = []
        self._lock = threading.Lock()

    def __call__(self, tsql: str) -> None:
        statement = SentStatement(sender_of(sys._getframe(1)), tsql)
        with self._lock:
            self.sent.append(statement)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Statements sent inside are not recorded (set-up that is not the app's, e.g. DuckDB-only code)."""
        base.statement_observers.remove(self)
        try:
            yield
        finally:
            base.statement_observers.append(self)

    def distinct(self) -> dict[str, list[str]]:
        """Sender -> its distinct statements, each once, in the order first sent (senders sorted)."""
        by_sender: dict[str, dict[str, None]] = {}
        for s in self.sent:
            by_sender.setdefault(s.sender, {})[s.tsql] = None
        return {sender: list(by_sender[sender]) for sender in sorted(by_sender)}


@contextmanager
def recording() -> Iterator[StatementRecorder]:
    """Record the statements sent while the block runs (any thread of this process)."""
    recorder = StatementRecorder()
    base.statement_observers.append(recorder)
    try:
        yield recorder
    finally:
        base.statement_observers.remove(recorder)
