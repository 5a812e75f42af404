"""Lint the schema that all versioned migrations build together, in the order the ledger applies them.

Each batch can be fine on its own and the whole still fail on SQL Server: a foreign key whose column
type differs from the referenced column (Msg 1778; a different length or scale, Msg 1753; a ``BIGINT``
pointing at an ``INT`` key once broke a Scout schema), a foreign key to columns that are no PRIMARY KEY
or UNIQUE key (Msg 1776), a table created by two files (Msg 2714 on the second). DuckDB checks none of
these the same way, so they are found here, before anything runs.

Pure: the input is the migrations' batches as text, the output is :class:`LintError` s with file,
batch and line. Tables are tracked through ``CREATE TABLE``, ``ALTER TABLE ... ADD`` (columns and
constraints), ``ALTER COLUMN``, ``DROP COLUMN``, ``CREATE UNIQUE INDEX`` and ``DROP TABLE``; names
compare case-insensitively (SQL Server's default collation) and an unqualified name is in ``dbo``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from scout.sql.lint import (
    PRIMARY_KEY,
    LintError,
    column_keys,
    is_max_type,
    node_line,
    parse_batch,
    table_key,
    table_keys,
    token_meta,
    unwrap_identifier,
)

_T = exp.DataType.Type
# sqlglot's names where they differ from SQL Server's.
_TYPE_NAMES = {
    _T.UTINYINT: "TINYINT",
    _T.UUID: "UNIQUEIDENTIFIER",
    _T.TIMESTAMPTZ: "DATETIMEOFFSET",
    _T.DOUBLE: "FLOAT",
    _T.TEXT: "NTEXT/TEXT",
}
_LENGTH_DEFAULT_1 = {_T.NVARCHAR, _T.VARCHAR, _T.NCHAR, _T.CHAR, _T.VARBINARY, _T.BINARY}
_PRECISION_DEFAULT_7 = {_T.DATETIME2, _T.TIME, _T.TIMESTAMPTZ}


def column_type(dtype: exp.DataType) -> str:
    """The column's type as SQL Server stores it, defaults spelled out: ``NVARCHAR`` → ``NVARCHAR(1)``,
    ``DECIMAL`` → ``DECIMAL(18,0)``, ``DATETIME2`` → ``DATETIME2(7)``, ``FLOAT`` → ``FLOAT(53)``."""
    name = _TYPE_NAMES.get(dtype.this, dtype.this.name)
    params = [p.name.upper() for p in dtype.expressions]
    if dtype.this in _LENGTH_DEFAULT_1 and not params:
        params = ["1"]
    elif dtype.this == _T.DECIMAL:
        params = params + ["18", "0"][len(params) :]
    elif dtype.this in _PRECISION_DEFAULT_7 and not params:
        params = ["7"]
    elif dtype.this in (_T.FLOAT, _T.DOUBLE):
        params = ["24" if params and params[0].isdigit() and int(params[0]) <= 24 else "53"]
    return f"{name}({','.join(params)})" if params else name


@dataclass(frozen=True)
class _Where:
    script: str
    batch: int
    line: int

    def __str__(self) -> str:
        return f"{self.script} batch {self.batch} line {self.line}"


@dataclass
class _Table:
    name: str  # as first written, e.g. results.montecarlo_runs
    created: _Where
    columns: dict[str, tuple[str, str, exp.DataType]] = field(default_factory=dict)  # lower → (name, type, dtype)
    primary_key: tuple[str, ...] = ()  # lower-case column names
    unique_keys: list[frozenset[str]] = field(default_factory=list)

    def keys(self) -> list[frozenset[str]]:
        return ([frozenset(self.primary_key)] if self.primary_key else []) + self.unique_keys


def _table_name(table: exp.Table) -> str:
    return f"{table.db or 'dbo'}.{table.name}"


@dataclass
class _ForeignKey:
    table: _Table
    columns: list[exp.Expr]  # identifiers of the referencing columns
    reference: exp.Reference
    where: _Where


class _SchemaBuilder:
    def __init__(self) -> None:
        self.tables: dict[str, _Table] = {}
        self.errors: list[LintError] = []

    def error(self, where: _Where, message: str) -> None:
        self.errors.append(LintError(where.script, where.batch, where.line, message))

    # -- statements ---------------------------------------------------------------------------------

    def statement(self, tree: exp.Expr, script: str, batch_no: int) -> None:
        def at(node: exp.Expr) -> _Where:
            return _Where(script, batch_no, node_line(node))

        if isinstance(tree, exp.Create) and (tree.kind or "").upper() == "TABLE" and isinstance(tree.this, exp.Schema):
            self.create_table(tree.this, at)
        elif isinstance(tree, exp.Create) and (tree.kind or "").upper() == "INDEX" and isinstance(tree.this, exp.Index):
            self.create_index(tree, at)
        elif isinstance(tree, exp.Alter) and (tree.args.get("kind") or "").upper() == "TABLE":
            self.alter_table(tree, at)
        elif isinstance(tree, exp.Drop) and (tree.args.get("kind") or "").upper() == "TABLE":
            for table in tree.args.get("tables") or []:
                if isinstance(table, exp.Table):
                    self.tables.pop(table_key(table), None)

    def create_table(self, schema: exp.Schema, at) -> None:
        target = schema.this
        where = at(target)
        key = table_key(target)
        if key in self.tables:
            earlier = self.tables[key]
            self.error(
                where,
                f"table {_table_name(target)} is already created by {earlier.created}: a table is "
                f"created once (SQL Server: Msg 2714); change it with ALTER TABLE, or DROP it first",
            )
            return
        table = _Table(_table_name(target), where)
        foreign_keys: list[_ForeignKey] = []
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                foreign_keys += self.add_column(table, item, at)
            else:
                foreign_keys += self.table_constraint(table, item, at, check_max=False)
        self.tables[key] = table
        for fk in foreign_keys:
            self.check_foreign_key(fk)

    def add_column(self, table: _Table, item: exp.ColumnDef, at) -> list[_ForeignKey]:
        """The column and what its own constraints declare (PRIMARY KEY, UNIQUE, [FOREIGN KEY] REFERENCES)."""
        dtype = item.args.get("kind")
        if isinstance(dtype, exp.DataType):
            table.columns[item.name.lower()] = (item.name, column_type(dtype), dtype)
        for what in column_keys(item):
            self.add_key(table, [item], what)
        found = []
        for constraint in item.constraints:
            kind = constraint.args.get("kind")
            if isinstance(kind, exp.Reference):
                found.append(_ForeignKey(table, [item.this], kind, at(item)))
            elif isinstance(kind, exp.ForeignKey) and kind.args.get("reference") is not None:
                found.append(_ForeignKey(table, [item.this], kind.args["reference"], at(item)))
        return found

    def table_constraint(self, table: _Table, item: exp.Expr, at, *, check_max: bool) -> list[_ForeignKey]:
        """PRIMARY KEY / UNIQUE / FOREIGN KEY declared apart from a column (in CREATE or ALTER TABLE ADD)."""
        for idents, what in table_keys(item):
            self.add_key(table, idents, what)
            if check_max:
                self.check_max_key(table, idents, what, at)
        found = []
        for node in item.expressions if isinstance(item, exp.Constraint) else [item]:
            if isinstance(node, exp.ForeignKey) and node.args.get("reference") is not None:
                found.append(_ForeignKey(table, list(node.expressions), node.args["reference"], at(node)))
        return found

    @staticmethod
    def add_key(table: _Table, columns: list[exp.Expr], what: str) -> None:
        names = tuple(c.name.lower() for c in columns)
        if what == PRIMARY_KEY:
            table.primary_key = names
        else:
            table.unique_keys.append(frozenset(names))

    def create_index(self, tree: exp.Create, at) -> None:
        index = tree.this
        target = index.args.get("table")
        table = self.tables.get(table_key(target)) if isinstance(target, exp.Table) else None
        params = index.args.get("params")
        if table is None or params is None:
            return
        idents = [unwrap_identifier(c) for c in params.args.get("columns") or []]
        if tree.args.get("unique"):
            table.unique_keys.append(frozenset(i.name.lower() for i in idents))
        self.check_max_key(table, idents, "an index", at)

    def alter_table(self, tree: exp.Alter, at) -> None:
        target = tree.this
        table = self.tables.get(table_key(target)) if isinstance(target, exp.Table) else None
        if table is None:
            return
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                for fk in self.add_column(table, action, at):
                    self.check_foreign_key(fk)
            elif isinstance(action, exp.AddConstraint):
                for item in action.expressions:
                    for fk in self.table_constraint(table, item, at, check_max=True):
                        self.check_foreign_key(fk)
            elif isinstance(action, exp.AlterColumn) and isinstance(action.args.get("dtype"), exp.DataType):
                name = action.name
                dtype = action.args["dtype"]
                table.columns[name.lower()] = (name, column_type(dtype), dtype)
            elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
                for column in action.args.get("tables") or []:
                    table.columns.pop(unwrap_identifier(column).name.lower(), None)

    # -- checks -------------------------------------------------------------------------------------

    def check_max_key(self, table: _Table, idents: list[exp.Expr], what: str, at) -> None:
        """A key on a table made in an earlier batch (the batch lint checks keys on its own tables)."""
        for ident in idents:
            column = table.columns.get(ident.name.lower())
            if column is None:
                continue
            where = at(ident)
            same_batch = (where.script, where.batch) == (table.created.script, table.created.batch)
            if is_max_type(column[2]) and not same_batch:
                self.error(
                    where,
                    f"{column[0]} {column[1]} cannot be a key column of {what} (SQL Server: Msg 1919): "
                    f"use a bounded length",
                )

    def check_foreign_key(self, fk: _ForeignKey) -> None:
        reference = fk.reference
        target = reference.this.this if isinstance(reference.this, exp.Schema) else reference.this
        ref_idents = list(reference.this.expressions) if isinstance(reference.this, exp.Schema) else []
        if not isinstance(target, exp.Table):
            return
        referenced = self.tables.get(table_key(target))
        if referenced is None:
            self.error(
                fk.where,
                f"foreign key references {_table_name(target)}, which no earlier migration creates "
                f"(SQL Server: Msg 1767)",
            )
            return
        ref_names = [i.name.lower() for i in ref_idents] or list(referenced.primary_key)
        if not ref_names:
            self.error(
                fk.where,
                f"foreign key references {referenced.name} without columns, and it has no "
                f"PRIMARY KEY (SQL Server: Msg 1773)",
            )
            return
        if len(ref_names) != len(fk.columns):
            self.error(
                fk.where,
                f"foreign key has {len(fk.columns)} column(s) but references {len(ref_names)} (SQL Server: Msg 8139)",
            )
            return
        for ident, ref_name in zip(fk.columns, ref_names):
            where = _Where(fk.where.script, fk.where.batch, token_meta(ident, "line") or fk.where.line)
            own = fk.table.columns.get(ident.name.lower())
            ref = referenced.columns.get(ref_name)
            if own is None:
                self.error(where, f"foreign key column {ident.name} is not a column of {fk.table.name}")
            elif ref is None:
                self.error(where, f"foreign key references {referenced.name}.{ref_name}, which is not a column of it")
            elif own[1] != ref[1]:
                msg = 1753 if own[1].split("(")[0] == ref[1].split("(")[0] else 1778
                self.error(
                    where,
                    f"foreign key column {fk.table.name}.{own[0]} {own[1]} must match the referenced "
                    f"column {referenced.name}.{ref[0]} {ref[1]} (SQL Server: Msg {msg})",
                )
        if frozenset(ref_names) not in referenced.keys():
            self.error(
                fk.where,
                f"foreign key references {referenced.name} ({', '.join(ref_names)}), which is not "
                f"its PRIMARY KEY or a UNIQUE key (SQL Server: Msg 1776)",
            )


def lint_schema(files: Iterable[tuple[str, Sequence[str]]]) -> list[LintError]:
    """Every schema error of the versioned migrations, given as (file name, batches) in ledger order.

    A batch sqlglot cannot parse is skipped here: the batch lint reports it.
    """
    builder = _SchemaBuilder()
    for script, batches in files:
        for batch_no, batch in enumerate(batches, start=1):
            try:
                trees = parse_batch(batch)
            except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
                continue
            for tree in trees:
                builder.statement(tree, script, batch_no)
    return builder.errors
