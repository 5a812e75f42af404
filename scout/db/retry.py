"""Which Azure SQL errors are worth retrying, and how long to wait: pure logic, no I/O.

The list is Microsoft's documented transient-fault set for Azure SQL plus the ODBC SQLSTATEs a
dropped or timed-out connection produces (``HYT00`` "Login timeout expired" among them).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

TRANSIENT_ERROR_NUMBERS = frozenset(
    {
        4060,
        40197,
        40501,
        40613,
        49918,
        49919,
        49920,
        4221,
        615,
        10928,
        10929,
        10936,
        10053,
        10054,
        10060,
        233,
        64,
        40143,
        40540,
        1205,
    }
)
TRANSIENT_SQLSTATES = frozenset({"HYT00", "HYT01", "08S01", "08001"})
#: The server rolled the whole transaction back and says to run it again: deadlock victim (1205), snapshot
#: update conflict (3960). Inside a transaction these are a TransactionConflict, not a retry of one statement.
CONFLICT_ERROR_NUMBERS = frozenset({1205, 3960})
#: "Snapshot isolation transaction failed ... because snapshot isolation is not allowed in this database."
SNAPSHOT_NOT_ALLOWED = 3952

_NUMBER_IN_MESSAGE = re.compile(r"\((\d{2,5})\)")
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")


def error_parts(exc: BaseException) -> tuple[str | None, str]:
    """(SQLSTATE, message) of a pyodbc error: pyodbc puts them in ``args`` as ``(sqlstate, message)``."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], str) and _SQLSTATE.match(args[0]):
        return args[0], str(args[1])
    return None, " ".join(str(a) for a in args)


def error_numbers(message: str) -> set[int]:
    """Native error numbers pyodbc writes into messages, e.g. ``... (40613) (SQLDriverConnect)``."""
    return {int(n) for n in _NUMBER_IN_MESSAGE.findall(message)}


def is_transient(exc: BaseException) -> bool:
    sqlstate, message = error_parts(exc)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    return bool(error_numbers(message) & TRANSIENT_ERROR_NUMBERS)


def is_conflict(exc: BaseException) -> bool:
    """The server chose this transaction as a deadlock victim (or it lost a snapshot update conflict) and
    rolled it back whole."""
    sqlstate, message = error_parts(exc)
    return sqlstate == "40001" or bool(error_numbers(message) & CONFLICT_ERROR_NUMBERS)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: ``first_wait`` doubling per retry, plus up to 25 % jitter, capped at ``max_wait``.

    The first wait is never shorter than ``first_wait`` (Azure SQL asks for at least 5 s in production).
    """

    attempts: int = 5
    first_wait: float = 5.0
    max_wait: float = 60.0

    def waits(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        """The waits between attempts (one fewer than attempts)."""
        for retry in range(self.attempts - 1):
            base = self.first_wait * (2**retry)
            yield min(self.max_wait, base * (1 + 0.25 * rng()))
