"""How the jobs compare text, the same on Azure SQL and DuckDB (and in Python).

Azure SQL's default collation (SQL_Latin1_General_CP1_CI_AS) is case-insensitive and ignores trailing
spaces; DuckDB compares code points. The portable SQL therefore never relies on the collation:
- text is compared, grouped and de-duplicated on its key ``UPPER(RTRIM(x))`` (Python: ``key(x)``);
- where one spelling of a group is shown, it is the binary-smallest one without trailing spaces,
  ``MIN(RTRIM(x) COLLATE Latin1_General_100_BIN2)``; text lists are ordered by that collation.
  (RTRIM inside: even a _BIN2 collation ignores trailing spaces on SQL Server, so ``MIN`` of
  ``'a'`` and ``'a '`` could be either there.)
scout.db.translate drops ``COLLATE Latin1_General_100_BIN2`` for DuckDB, which orders that way already.
"""

from __future__ import annotations

BINARY = "Latin1_General_100_BIN2"


def key(value: str | None) -> str | None:
    """The comparison key of ``value``: upper case, trailing spaces removed (``UPPER(RTRIM(x))``)."""
    return None if value is None else value.rstrip(" ").upper()


def shown(values) -> str | None:
    """The spelling a group of equal-keyed ``values`` is shown with (``MIN(RTRIM(x) COLLATE ..._BIN2)``)."""
    trimmed = [v.rstrip(" ") for v in values if v is not None]
    return min(trimmed) if trimmed else None


def key_sql(expr: str) -> str:
    return f"UPPER(RTRIM({expr}))"


def binary_sql(expr: str) -> str:
    """``expr`` compared by code point on both engines (for MIN/MAX and ORDER BY)."""
    return f"{expr} COLLATE {BINARY}"
