"""Translate the T-SQL subset Scout writes into DuckDB SQL, with sqlglot plus the fixes it lacks.

sqlglot transpiles most of T-SQL, but leaves a few things DuckDB would reject or misread: ``BIT``
(a bit string in DuckDB, a boolean in SQL Server), ``NVARCHAR(MAX)``, ``SYSUTCDATETIME()``,
``GETUTCDATE()``, ``NCHAR(n)``, ``DATALENGTH(text)``, ``STRING_ESCAPE(x, 'json')``, the row checksum
(``HASHBYTES('SHA2_256', CONCAT_WS(...))``, also as hex text or 56 bits of it), sums of distinct
bits (``SUM(DISTINCT CASE ... THEN 4 ... END)``) and binary collations. Those are
rewritten here; what cannot be translated is rejected by the subset lint (``scout.migrations.lint``)
before it reaches a database.

Collations: the portable SQL names ``COLLATE Latin1_General_100_BIN2`` where an order or a shown
spelling must not depend on the database's collation (case-insensitive on Azure SQL). DuckDB compares
strings by their code points already, which is what a ``_BIN2`` collation does, so the clause is
dropped; any other collation is kept and DuckDB rejects it (its meaning would be lost otherwise).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

_UTC_NOW_FUNCTIONS = {"SYSUTCDATETIME", "GETUTCDATE", "SYSDATETIME", "GETDATE"}
_TEXT_TYPES = {
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.NCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.TEXT,
}


# Code-point order: what DuckDB compares by anyway (Latin1_General_100_BIN2, Latin1_General_BIN2, ...).
_BINARY_COLLATION = re.compile(r"^[A-Za-z0-9_]*_BIN2$", re.IGNORECASE)


class TranslationError(ValueError):
    """The statement is outside the T-SQL subset both engines run."""


def is_binary_collation(node: exp.Expr) -> bool:
    """``x COLLATE <name>_BIN2``: code-point order, DuckDB's own."""
    return isinstance(node, exp.Collate) and bool(_BINARY_COLLATION.match(node.expression.name or ""))


def _without_binary_collation(node: exp.Expr) -> exp.Expr:
    while is_binary_collation(node):
        node = node.this
    return node


def _sorted_string_agg(node: exp.GroupConcat) -> exp.Expr | None:
    """``STRING_AGG(x, sep) WITHIN GROUP (ORDER BY x)`` as a sorted list joined to text: the same result
    (NULLs skipped, NULL for a group with none), without DuckDB's ordered aggregate, which sorts
    every group apart and is several times slower. ``ORDER BY x COLLATE ..._BIN2`` is the same order
    in DuckDB, so it takes this path too."""
    order = node.this
    if not isinstance(order, exp.Order) or len(order.expressions) != 1:
        return None
    key = order.expressions[0]
    if _without_binary_collation(key.this) != _without_binary_collation(order.this):
        return None
    value = _without_binary_collation(order.this).transform(_fix_node)
    kept = exp.Filter(
        this=exp.Anonymous(this="LIST", expressions=[value.copy()]),
        expression=exp.Where(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))),
    )
    direction = exp.Literal.string("DESC" if key.args.get("desc") else "ASC")
    separator = node.args.get("separator") or exp.Literal.string(",")
    return exp.Anonymous(
        this="ARRAY_TO_STRING", expressions=[exp.Anonymous(this="LIST_SORT", expressions=[kept, direction]), separator]
    )


def _split_rows(node: exp.Join) -> exp.Expr | None:
    """``CROSS APPLY STRING_SPLIT(x, sep) AS a``: one row per part, in column ``a.value``. DuckDB's
    STRING_SPLIT is a scalar returning a list: ``CROSS JOIN LATERAL (SELECT UNNEST(...) AS value) AS a``."""
    lateral = node.this
    if not (isinstance(lateral, exp.Lateral) and lateral.args.get("cross_apply") is True):
        return None
    call = lateral.this
    if not (isinstance(call, exp.Anonymous) and call.name.upper() == "STRING_SPLIT" and len(call.expressions) == 2):
        return None
    parts = exp.Anonymous(this="STRING_SPLIT", expressions=[e.transform(_fix_node) for e in call.expressions])
    rows = exp.select(exp.alias_(exp.Unnest(expressions=[parts]), "value")).subquery()
    return exp.Join(this=exp.Lateral(this=rows, alias=lateral.args["alias"].copy()), kind="CROSS")


def _is_quote_mark(node: exp.Expr) -> bool:
    return (isinstance(node, exp.National) or (isinstance(node, exp.Literal) and node.is_string)) and node.this == '"'


_JSON_ESCAPE_ONLY = "STRING_ESCAPE(x, 'json') is portable only between N'\"' quotes in a CONCAT"


def _is_json_escape(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.Anonymous)
        and node.name.upper() == "STRING_ESCAPE"
        and len(node.expressions) == 2
        and node.expressions[1].is_string
        and node.expressions[1].name.lower() == "json"
    )


def _json_strings(node: exp.Concat) -> exp.Expr:
    """``CONCAT(..., N'"', STRING_ESCAPE(x, 'json'), N'"', ...)``: x as a JSON string, which DuckDB's
    TO_JSON writes in one step (quotes, backslashes and control characters escaped)."""
    args, out, i = node.expressions, [], 0
    while i < len(args):
        if (
            i + 2 < len(args)
            and _is_quote_mark(args[i])
            and _is_json_escape(args[i + 1])
            and _is_quote_mark(args[i + 2])
        ):
            value = args[i + 1].expressions[0].transform(_fix_node)
            out.append(
                exp.Cast(this=exp.Anonymous(this="TO_JSON", expressions=[value]), to=exp.DataType.build("VARCHAR"))
            )
            i += 3
            continue
        out.append(args[i].transform(_fix_node))
        i += 1
    if len(out) == 1:  # CONCAT(N'"', STRING_ESCAPE(x, 'json'), N'"') alone: no copy of the text
        return out[0]
    return exp.Concat(expressions=out, safe=node.args.get("safe"), coalesce=node.args.get("coalesce"))


def _checksum_value(node: exp.Expr) -> exp.Expr:
    """One value of a row checksum without the text form SQL Server hashes: ``CASE WHEN v IS NULL THEN
    N'~' ELSE CONCAT(DATALENGTH(v), N':', v) END`` is v, and a conversion to text is its operand."""
    if isinstance(node, exp.Case) and len(node.args.get("ifs") or []) == 1:
        test, default = node.args["ifs"][0].this, node.args.get("default")
        if (
            isinstance(test, exp.Is)
            and isinstance(test.expression, exp.Null)
            and node.args["ifs"][0].args["true"].name == "~"
            and isinstance(default, exp.Concat)
            and len(default.expressions) == 3
            and isinstance(default.expressions[0], exp.Anonymous)
            and default.expressions[0].name.upper() == "DATALENGTH"
            and default.expressions[2] == test.this
        ):
            node = test.this
    while True:
        if isinstance(node, exp.Cast) and node.to.this in _TEXT_TYPES:
            node = node.this
        elif isinstance(node, exp.Convert) and isinstance(node.this, exp.DataType) and node.this.this in _TEXT_TYPES:
            node = node.expression
        else:
            return node


def _row_checksum(node: exp.SHA2) -> exp.Expr | None:
    """``HASHBYTES('SHA2_256', CONCAT_WS(sep, v1, v2, ...))``, the row checksum of the portable SQL (SQL
    Server hashes the values' tagged text): DuckDB's 64-bit ``HASH(v1, v2, ...)`` over the values
    themselves, NULL apart from empty text, no text built. Only ever compared with another checksum
    computed the same way in the same statement."""
    values = node.this
    if not isinstance(values, exp.ConcatWs) or str(node.args.get("length") or "") != "256":
        return None
    return exp.Anonymous(
        this="HASH", expressions=[_checksum_value(v).transform(_fix_node) for v in values.expressions[1:]]
    )


def _checksum_bits(node: exp.Cast) -> exp.Expr | None:
    """``CAST(SUBSTRING(<row checksum>, 1, 7) AS BIGINT)``: 56 bits of it as a number (never negative, and a
    dozen add up without overflow); DuckDB: the top 56 bits of its HASH."""
    part = node.this
    if node.to.this != exp.DataType.Type.BIGINT or not isinstance(part.this, exp.SHA2):
        return None
    if str(part.args.get("start")) != "1" or str(part.args.get("length")) != "7":
        return None
    checksum = _row_checksum(part.this)
    if checksum is None:
        return None
    shifted = exp.BitwiseRightShift(this=checksum, expression=exp.Literal.number(8))
    return exp.Cast(this=exp.Paren(this=shifted), to=exp.DataType.build("BIGINT"))


def _power_of_two(node: exp.Expr) -> bool:
    if isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.BIGINT, exp.DataType.Type.INT):
        node = node.this
    if not (isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit()):
        return False
    n = int(node.this)
    return n > 0 and n & (n - 1) == 0


def _sum_of_distinct_bits(node: exp.Sum) -> exp.Expr | None:
    """``SUM(DISTINCT CASE ... THEN 1 ... THEN 4 ... END)``, every result a power of two (or NULL): the
    bitwise OR of the bits present, which DuckDB's ``BIT_OR`` computes without a DISTINCT per group."""
    distinct = node.this
    if not (isinstance(distinct, exp.Distinct) and len(distinct.expressions) == 1):
        return None
    case = distinct.expressions[0]
    if not isinstance(case, exp.Case) or not case.args.get("ifs"):
        return None
    default = case.args.get("default")
    if default is not None and not isinstance(default, exp.Null):
        return None
    if not all(_power_of_two(branch.args["true"]) for branch in case.args["ifs"]):
        return None
    return exp.Anonymous(this="BIT_OR", expressions=[case.transform(_fix_node)])


def _fix_node(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Sum):
        return _sum_of_distinct_bits(node) or node
    if isinstance(node, exp.SHA2):
        return _row_checksum(node) or node
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Substring):
        return _checksum_bits(node) or node
    if isinstance(node, exp.Convert) and isinstance(node.expression, exp.SHA2):
        # CONVERT(NVARCHAR(64), <row checksum>, 2): its hex text on SQL Server; DuckDB keeps the number
        return _row_checksum(node.expression) or node
    if isinstance(node, exp.Concat) and any(_is_json_escape(a) for a in node.expressions):
        return _json_strings(node)
    if _is_json_escape(node):
        raise TranslationError(_JSON_ESCAPE_ONLY)
    if isinstance(node, exp.Join):
        return _split_rows(node) or node
    if isinstance(node, exp.GroupConcat):
        return _sorted_string_agg(node) or node
    if is_binary_collation(node):
        # a replaced node's children are not visited by transform(): fix them here
        return _without_binary_collation(node).transform(_fix_node)
    if isinstance(node, exp.Anonymous) and node.name.upper() == "NCHAR" and len(node.expressions) == 1:
        # NCHAR(n): the character with code point n (control characters in portable literals)
        return exp.Chr(expressions=[node.expressions[0].transform(_fix_node)])
    if isinstance(node, exp.Ordered) and not isinstance(node.parent, (exp.Order, exp.Window, exp.WithinGroup)):
        # key columns of PRIMARY KEY / UNIQUE / CREATE INDEX: sqlglot adds NULLS FIRST, DuckDB rejects it
        if not node.args.get("desc"):
            return node.this
    if isinstance(node, exp.DataType):
        if node.this == exp.DataType.Type.BIT:
            return exp.DataType.build("BOOLEAN")
        if node.this in _TEXT_TYPES:
            return exp.DataType.build("VARCHAR")
        if node.this in (exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY):
            return exp.DataType.build("BLOB")
        if node.this in (exp.DataType.Type.DATETIME2, exp.DataType.Type.DATETIME, exp.DataType.Type.SMALLDATETIME):
            return exp.DataType.build("TIMESTAMP")
    if isinstance(node, exp.Anonymous) and node.name.upper() == "ISJSON" and len(node.expressions) == 1:
        # ISJSON(x): 1 valid JSON, 0 not, NULL for NULL (DuckDB's json_valid says true/false)
        valid = exp.Anonymous(this="JSON_VALID", expressions=[node.expressions[0].transform(_fix_node)])
        return exp.Cast(this=valid, to=exp.DataType.build("INT"))
    if isinstance(node, exp.Anonymous) and node.name.upper() == "DATALENGTH" and len(node.expressions) == 1:
        # DATALENGTH(text): its size, trailing spaces counted (DuckDB's STRLEN: UTF-8 bytes)
        return exp.Anonymous(this="STRLEN", expressions=[node.expressions[0].transform(_fix_node)])
    if isinstance(node, exp.Anonymous) and node.name.upper() in _UTC_NOW_FUNCTIONS:
        return sqlglot.parse_one("CAST(timezone('UTC', now()) AS TIMESTAMP)", read="duckdb")
    if isinstance(node, exp.CurrentTimestamp):
        return sqlglot.parse_one("CAST(timezone('UTC', now()) AS TIMESTAMP)", read="duckdb")
    return node


def parse_tsql(statement: str) -> list[exp.Expr]:
    """Parse T-SQL (one batch, possibly several statements); raises TranslationError when it cannot."""
    try:
        return [e for e in sqlglot.parse(statement, read="tsql") if e is not None]
    except sqlglot.errors.ParseError as exc:
        raise TranslationError(f"not parseable as T-SQL: {exc}") from None


@lru_cache(maxsize=1024)
def tsql_to_duckdb(batch: str) -> tuple[str, ...]:
    """The DuckDB statements equivalent to one T-SQL batch (cached: jobs re-run the same SQL)."""
    out = []
    for tree in parse_tsql(batch):
        if isinstance(tree, exp.Command):
            raise TranslationError(f"statement outside the supported T-SQL subset: {tree.sql('tsql')[:80]!r}")
        fixed = tree.transform(_fix_node)
        out.append(fixed.sql(dialect="duckdb"))
    return tuple(out)


def tsql_statement_to_duckdb(statement: str) -> str:
    """Translate exactly one T-SQL statement (the form job code uses, with ``?`` parameters)."""
    statements = tsql_to_duckdb(statement)
    if len(statements) != 1:
        raise TranslationError(f"expected one statement, got {len(statements)}")
    return statements[0]
