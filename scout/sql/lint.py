"""The T-SQL lint every statement passes: migration batches and the runtime statements the app sends.

The rules and their reasons are in ``sql/README.md``. Two kinds of rule:

- **T-SQL validity** (always): what SQL Server rejects or silently changes although DuckDB and sqlglot
  accept it: reserved keywords as bare identifiers, backslash-newline and raw control characters in
  string literals, ``CAST``/``CONVERT`` to a character type without a length, ``ORDER BY`` in a view or
  subquery without ``TOP``, MAX types in keys, DuckDB-only syntax, ``GO`` inside a batch.
- **The portable subset** (``portable=True``: migrations, and runtime statements that go through the
  DuckDB translator): no procedural/session T-SQL, no ``IDENTITY``, nothing sqlglot cannot translate.
  Statements only the SQL Server backend itself sends (``portable=False``, e.g. the ``sp_getapplock``
  batch) skip these.

Passes: patterns on the code with comments, strings and delimited identifiers blanked out (cheap, and
catches what sqlglot would misread), the string literals themselves, then the parsed statements.
A :class:`LintError` with ``severity="warning"`` (a future keyword) never blocks anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp

from scout.sql.keywords import FUTURE_WORDS, RESERVED_WORDS

ERROR, WARNING = "error", "warning"

_PROCEDURAL_REASON = (
    "is procedural/session T-SQL outside the subset (the ledger already runs each migration once, in one transaction)"
)

# Statement-start keywords sqlglot may misread (RAISERROR parses as a function call, GOTO as an alias).
# SET is left to the parse pass: at a line start it is usually an UPDATE's SET clause.
_FORBIDDEN_STATEMENTS = re.compile(
    r"^\s*(IF(?!\s+(?:NOT\s+)?EXISTS\b)|WHILE|EXEC|EXECUTE|DECLARE|BEGIN\s+TRAN(?:SACTION)?|COMMIT|ROLLBACK|USE|PRINT"
    r"|RAISERROR|THROW|GOTO)\b",
    re.IGNORECASE | re.MULTILINE,
)
# The same constructs as parsed statements, wherever they sit in the batch.
_PROCEDURAL_TREES: dict[type, str] = {
    exp.IfBlock: "IF",
    exp.WhileBlock: "WHILE",
    exp.Execute: "EXEC",
    exp.Declare: "DECLARE",
    exp.Transaction: "BEGIN TRAN",
    exp.Commit: "COMMIT",
    exp.Rollback: "ROLLBACK",
    exp.Use: "USE",
    exp.Set: "SET",
}
_BARE_EXPRESSIONS = (exp.Alias, exp.Column, exp.Identifier, exp.Anonymous, exp.Literal)
_IDENTITY = re.compile(r"\bIDENTITY\b", re.IGNORECASE)
_DROP_INDEX_ON = re.compile(r"\bDROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?\S+\s+ON\b", re.IGNORECASE)
_GO_NOT_ALONE = re.compile(r"^[ \t]*GO\b", re.IGNORECASE | re.MULTILINE)

# DuckDB (or PostgreSQL) syntax SQL Server does not have, with what to write instead.
_DUCKDB_ONLY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.MULTILINE), advice)
    for pattern, advice in (
        # T-SQL's own "::" follows a securable class (GRANT ... ON SCHEMA::results)
        (
            r"(?<!\bSCHEMA)(?<!\bOBJECT)(?<!\bTYPE)(?<!\bDATABASE)(?<!\bLOGIN)(?<!\bUSER)(?<!\bROLE)::",
            "'::' casts are DuckDB-only: use CAST(x AS type)",
        ),
        (r"\bILIKE\b", "ILIKE is DuckDB-only: compare UPPER(x) LIKE UPPER(pattern)"),
        (r"\bLIMIT\s+(?:\d|\?|@|\()", "LIMIT is DuckDB-only: use TOP (n), or ORDER BY ... OFFSET ... FETCH"),
        (r"\bQUALIFY\b", "QUALIFY is DuckDB-only: filter a ROW_NUMBER() column in an outer query"),
        (
            r"\bCREATE\s+OR\s+REPLACE\b",
            "CREATE OR REPLACE is DuckDB-only: use CREATE OR ALTER (views) or DROP + CREATE",
        ),
        (
            r"\bINSERT\s+OR\s+(?:REPLACE|IGNORE)\b",
            "INSERT OR REPLACE/IGNORE is DuckDB-only: use MERGE or INSERT ... WHERE NOT EXISTS",
        ),
        (r"\bUSING\s+SAMPLE\b", "USING SAMPLE is DuckDB-only: use TABLESAMPLE or TOP ... ORDER BY NEWID()"),
        (r"\browid\b", "rowid is a DuckDB pseudo-column: use the table's key"),
        (r"\bEXCLUDE\s*\(", "SELECT * EXCLUDE (...) is DuckDB-only: list the columns"),
        (
            r"\b(?:read_parquet|read_csv(?:_auto)?|read_json(?:_auto)?|parquet_scan)\s*\(",
            "DuckDB table functions (read_parquet, read_csv...) do not exist on SQL Server",
        ),
        (r"(?:^|;)\s*COPY\b", "COPY ... TO/FROM is DuckDB-only"),
        (
            r"(?<![.\w@#$])(?:STRUCT_(?:PACK|EXTRACT|INSERT)|LIST_(?:VALUE|PACK|CONCAT|CONTAINS|HAS|EXTRACT|ELEMENT"
            r"|SORT|REVERSE_SORT|DISTINCT|UNIQUE|FILTER|TRANSFORM|APPLY|AGGREGATE|AGGR|SLICE|ZIP)|ARRAY_TO_STRING"
            r"|ARRAY_LENGTH|UNNEST)\s*\(",
            "STRUCT/LIST functions are DuckDB-only: T-SQL has no nested types",
        ),
    )
)

_CHARACTER_TYPES = {
    exp.DataType.Type.NVARCHAR: "NVARCHAR",
    exp.DataType.Type.VARCHAR: "VARCHAR",
    exp.DataType.Type.NCHAR: "NCHAR",
    exp.DataType.Type.CHAR: "CHAR",
    exp.DataType.Type.VARBINARY: "VARBINARY",
    exp.DataType.Type.BINARY: "BINARY",
}
_MAX_CAPABLE = {exp.DataType.Type.NVARCHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.VARBINARY}
_LOB_TYPES = {exp.DataType.Type.TEXT: "NTEXT/TEXT", exp.DataType.Type.IMAGE: "IMAGE", exp.DataType.Type.XML: "XML"}

# Reserved words that are functions without parentheses (SELECT USER): in that role they are no identifier.
_NILADIC = {"CURRENT_USER", "SESSION_USER", "SYSTEM_USER", "USER", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"}
# Keywords followed by "(" that sqlglot sometimes reads as a table name (DELETE TOP (10) FROM t).
_CALLED_KEYWORDS = {
    "TOP",
    "CONVERT",
    "TRY_CONVERT",
    "COALESCE",
    "NULLIF",
    "CONTAINS",
    "FREETEXT",
    "CONTAINSTABLE",
    "FREETEXTTABLE",
    "OPENQUERY",
    "OPENROWSET",
    "OPENDATASOURCE",
    "OPENXML",
    "IDENTITY",
    "SEMANTICKEYPHRASETABLE",
    "SEMANTICSIMILARITYDETAILSTABLE",
    "SEMANTICSIMILARITYTABLE",
}
_CONTROL_NAMES = {9: "TAB", 10: "LF", 13: "CR"}
_STRING_TROUBLE = re.compile(r"\\(?=[\r\n])|[\x00-\x1f]")  # first backslash-newline or control character


@dataclass(frozen=True)
class LintError:
    script: str
    batch: int
    line: int  # line within the batch
    message: str
    severity: str = ERROR  # "error" blocks; "warning" is shown by `scout migrate verify` only

    def __str__(self) -> str:
        return f"{self.script} batch {self.batch} line {self.line}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True)
class _Scan:
    code: str  # comments, string bodies and delimited identifiers blanked; same length and line breaks
    unclosed: str | None  # "string literal" / "block comment" left open at the end, else None
    strings: tuple[tuple[int, int], ...]  # (start, end) of each string literal's body in the original text


def _blank(text: str, keep: str = "") -> str:
    return re.sub(r"[^\n" + re.escape(keep) + "]", "x", text)


@lru_cache(maxsize=4096)
def _scan(sql: str) -> _Scan:
    """One pass over the text, as SQL Server's lexer sees it: comments, 'strings' (doubled quotes inside),
    [identifiers] (doubled ] inside) and "identifiers"."""
    out, i, n, unclosed, strings = [], 0, len(sql), None, []
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                unclosed, end = "block comment", n
            else:
                end += 2
            out.append(re.sub(r"[^\n]", " ", sql[i:end]))
            i = end
        elif ch == "'" or (
            ch in "Nn" and sql.startswith("'", i + 1) and not (i and (sql[i - 1].isalnum() or sql[i - 1] == "_"))
        ):
            start = i
            i += 2 if ch in "Nn" else 1
            body_start, closed = i, False
            while i < n:
                if sql.startswith("''", i):
                    i += 2
                elif sql[i] == "'":
                    closed = True
                    break
                else:
                    i += 1
            strings.append((body_start, i))
            if closed:
                i += 1
            else:
                unclosed = "string literal"
            body = sql[start:i]
            out.append(_blank(body[:-1] if closed else body, "'") + ("'" if closed else ""))
        elif ch in '["':
            close = "]" if ch == "[" else '"'
            j = i + 1
            while j < n:
                if sql.startswith(close * 2, j):
                    j += 2
                elif sql[j] == close or sql[j] == "\n":
                    break
                else:
                    j += 1
            end = j + 1 if j < n and sql[j] == close else j
            out.append(ch + _blank(sql[i + 1 : j]) + sql[j:end])
            i = end
        else:
            out.append(ch)
            i += 1
    return _Scan("".join(out), unclosed, tuple(strings))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _line_of_word(code: str, word: str) -> int:
    """Line of the first occurrence of ``word`` in the code (1 when it cannot be located)."""
    match = re.search(r"\b" + r"\s+".join(map(re.escape, word.split())), code, re.IGNORECASE)
    return _line_of(code, match.start()) if match else 1


def token_meta(node: exp.Expr, key: str) -> int | None:
    """A position sqlglot kept for a token (identifiers and literals), without allocating meta elsewhere."""
    meta = getattr(node, "_meta", None)
    return meta.get(key) if meta else None


def node_line(node: exp.Expr, default: int = 1) -> int:
    """Line of the first token inside ``node`` that sqlglot kept a position for."""
    for sub in node.walk():
        line = token_meta(sub, "line")
        if line:
            return int(line)
    return default


@lru_cache(maxsize=4096)
def parse_batch(batch: str) -> tuple[exp.Expr, ...]:
    """The statements of one T-SQL batch as sqlglot reads them (cached, shared: never mutate the trees)."""
    return tuple(t for t in sqlglot.parse(batch, read="tsql") if t is not None)


def _parse_statements_apart(batch: str, code: str) -> list[tuple[int, int, exp.Expr]]:
    """Best effort for batches sqlglot cannot read whole: parse each ``;``-separated statement alone and
    keep those it reads, each with its line and character offset (the backend's own statements only)."""
    parsed, start = [], 0
    for end in [m.start() for m in re.finditer(";", code)] + [len(code)]:
        piece = batch[start:end]
        if piece.strip():
            try:
                trees = parse_batch(piece)
            except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
                trees = ()
            parsed += [(code.count("\n", 0, start), start, t) for t in trees]
        start = end + 1
    return parsed


def _is_string(node: exp.Expr) -> bool:
    return isinstance(node, exp.National) or (isinstance(node, exp.Literal) and node.is_string)


def is_max_type(dtype: exp.DataType) -> bool:
    if dtype.this in _LOB_TYPES:
        return True
    return dtype.this in _MAX_CAPABLE and any(
        isinstance(p, exp.DataTypeParam) and p.name.upper() == "MAX" for p in dtype.expressions
    )


class _Batch:
    """Collects the findings of one batch (deduplicated on line + message)."""

    def __init__(self, script: str, batch_no: int) -> None:
        self.script, self.batch_no = script, batch_no
        self.found: list[LintError] = []
        self._seen: set[tuple[int, str]] = set()
        self._warned_words: set[str] = set()

    def add(self, line: int, message: str, severity: str = ERROR) -> None:
        if (line, message) not in self._seen:
            self._seen.add((line, message))
            self.found.append(LintError(self.script, self.batch_no, line, message, severity))

    def warn_once(self, word: str, line: int, message: str) -> None:
        """Future keywords: one warning per word and batch (a schema name repeats in every statement)."""
        if word not in self._warned_words:
            self._warned_words.add(word)
            self.add(line, message, WARNING)


# -- rules on the text ------------------------------------------------------------------------------


def _check_string_literals(batch: str, scan: _Scan, out: _Batch) -> None:
    """SQL Server reads a backslash before a line break in a string as a line continuation (both vanish);
    raw control characters make the statement depend on the file's line endings and editors."""
    for start, end in scan.strings:
        found = _STRING_TROUBLE.search(batch, start, end)
        if found is None:
            continue
        line = _line_of(batch, found.start())
        if found.group() == "\\":
            out.add(
                line,
                "backslash before a line break inside a string literal: SQL Server drops both (line "
                "continuation); build the text with CONCAT(..., NCHAR(92), NCHAR(10), ...)",
            )
        else:
            code = ord(found.group())
            out.add(
                line,
                f"raw control character {_CONTROL_NAMES.get(code, f'U+{code:04X}')} inside a string "
                f"literal: write NCHAR({code}) (e.g. CONCAT(N'a', NCHAR({code}), N'b'))",
            )


def _check_duckdb_only(code: str, out: _Batch) -> None:
    for pattern, advice in _DUCKDB_ONLY:
        for m in pattern.finditer(code):
            out.add(
                _line_of(code, m.start() + len(m.group()) - len(m.group().lstrip("; \t\n"))),
                f"DuckDB-only syntax: {advice}",
            )


def _check_portable_patterns(code: str, out: _Batch) -> None:
    for m in _FORBIDDEN_STATEMENTS.finditer(code):
        out.add(_line_of(code, m.start(1)), f"{' '.join(m.group(1).upper().split())} {_PROCEDURAL_REASON}")
    for m in _IDENTITY.finditer(code):
        out.add(
            _line_of(code, m.start()), "IDENTITY columns don't translate to DuckDB: use app-made UUIDs or natural keys"
        )
    for m in _DROP_INDEX_ON.finditer(code):
        out.add(_line_of(code, m.start()), "DROP INDEX ... ON is T-SQL only: drop the table, or leave the index")


# -- rules on the parsed statements -----------------------------------------------------------------


def _check_keywords(tree: exp.Expr, batch: str, at: tuple[int, int], out: _Batch) -> None:
    """Bare identifiers that are T-SQL keywords: reserved ones are a syntax error (Msg 156), future ones a
    warning. Quoted ([percent], "percent") and keywords in their keyword role are not identifiers here."""
    line_offset, char_offset = at
    bare = [i for i in tree.find_all(exp.Identifier) if not i.quoted]
    for ident in sorted(bare, key=lambda i: (token_meta(i, "line") or 0, token_meta(i, "col") or 0)):
        word = ident.name.upper()
        reserved = word in RESERVED_WORDS
        if not reserved and word not in FUTURE_WORDS:
            continue
        parent = ident.parent
        if isinstance(parent, exp.Column) and word in _NILADIC and not parent.table:
            continue  # SELECT CURRENT_USER / USER: the function
        end = token_meta(ident, "end")
        if word in _CALLED_KEYWORDS and end is not None and batch[char_offset + end + 1 :].lstrip().startswith("("):
            continue  # DELETE TOP (10) ...: sqlglot made a table of TOP
        line = (token_meta(ident, "line") or 1) + line_offset
        if reserved:
            out.add(
                line,
                f"{ident.name} is a reserved T-SQL keyword used as a bare identifier (SQL Server: "
                f"Msg 156): write [{ident.name}]",
            )
        else:
            out.warn_once(
                word,
                line,
                f"{ident.name} is a T-SQL future keyword (Microsoft: avoid it as an "
                f"identifier): consider [{ident.name}]",
            )


def _check_character_lengths(tree: exp.Expr, line_offset: int, out: _Batch) -> None:
    """NVARCHAR without a length is NVARCHAR(30) in CAST/CONVERT and NVARCHAR(1) in a column: silent truncation."""
    for dtype in tree.find_all(exp.DataType):
        name = _CHARACTER_TYPES.get(dtype.this)
        if name is None or dtype.expressions:
            continue
        parent = dtype.parent
        declared = isinstance(parent, exp.ColumnDef) and parent.args.get("kind") is dtype
        if parent is not None and (declared or isinstance(parent, (exp.Cast, exp.Convert))):
            what = f"column {parent.name} declared" if isinstance(parent, exp.ColumnDef) else "CAST/CONVERT to"
            default = 1 if isinstance(parent, exp.ColumnDef) else 30
            out.add(
                node_line(parent) + line_offset,
                f"{what} {name} without a length means {name}({default}) on SQL Server (silent "
                f"truncation): write {name}(n) or {name}(MAX)",
            )


def _check_order_by_without_top(tree: exp.Expr, line_offset: int, out: _Batch) -> None:
    """ORDER BY is invalid in views, derived tables, subqueries and CTEs unless TOP or OFFSET is given (Msg 1033)."""
    for query in tree.find_all(exp.Select, exp.SetOperation):
        order = query.args.get("order")
        if order is None or query.args.get("limit") or query.args.get("offset"):
            continue
        parent = query.parent
        if isinstance(parent, exp.Create) and (parent.kind or "").upper() == "VIEW":
            where = "a view"
        elif isinstance(parent, (exp.Subquery, exp.CTE)):
            where = "a subquery, derived table or CTE"
        else:
            continue
        out.add(
            node_line(order) + line_offset,
            f"ORDER BY in {where} without TOP or OFFSET is rejected by SQL Server (Msg 1033): order the outer query",
        )


PRIMARY_KEY, UNIQUE = "a PRIMARY KEY", "a UNIQUE constraint"
_KEY_KINDS: dict[type, str] = {exp.PrimaryKeyColumnConstraint: PRIMARY_KEY, exp.UniqueColumnConstraint: UNIQUE}


def column_keys(column: exp.ColumnDef) -> list[str]:
    """What keys a column's own constraints make it part of ("a PRIMARY KEY", "a UNIQUE constraint")."""
    kinds = (_KEY_KINDS.get(type(c.args.get("kind"))) for c in column.constraints)
    return [kind for kind in kinds if kind]


def table_keys(item: exp.Expr) -> list[tuple[list[exp.Expr], str]]:
    """Key columns declared apart from the columns: ([identifiers], "a PRIMARY KEY" / "a UNIQUE constraint")."""
    keys = []
    for node in item.expressions if isinstance(item, exp.Constraint) else [item]:
        if isinstance(node, exp.PrimaryKey):
            keys.append(([unwrap_identifier(o) for o in node.expressions], PRIMARY_KEY))
        elif isinstance(node, exp.UniqueColumnConstraint) and isinstance(node.this, exp.Schema):
            keys.append((list(node.this.expressions), UNIQUE))
    return keys


def unwrap_identifier(node: exp.Expr) -> exp.Expr:
    """The identifier inside ``Ordered(Column(Identifier))`` and the like (key and index column lists)."""
    while isinstance(node, (exp.Ordered, exp.Column)):
        node = node.this
    return node


def table_key(table: exp.Table) -> str:
    """How SQL Server tells tables apart by default: case-insensitive, unqualified = dbo."""
    return f"{(table.db or 'dbo').lower()}.{table.name.lower()}"


def _check_max_keys(tree: exp.Expr, line_offset: int, out: _Batch, tables: dict[str, dict[str, exp.DataType]]) -> None:
    """MAX types cannot be key columns of a PRIMARY KEY, UNIQUE constraint or index (Msg 1919). Knows the
    tables created in the same batch; ``scout.sql.schema_lint`` knows the others."""

    def check(ident: exp.Expr, dtype: exp.DataType | None, what: str) -> None:
        if dtype is not None and is_max_type(dtype):
            out.add(
                node_line(ident) + line_offset,
                f"{ident.name} {dtype.sql('tsql')} cannot be a key column of "
                f"{what} (SQL Server: Msg 1919): use a bounded length",
            )

    if not isinstance(tree, exp.Create):
        return
    if isinstance(tree.this, exp.Schema):
        columns = {
            c.name.lower(): c.args["kind"]
            for c in tree.this.expressions
            if isinstance(c, exp.ColumnDef) and isinstance(c.args.get("kind"), exp.DataType)
        }
        if isinstance(tree.this.this, exp.Table):
            tables[table_key(tree.this.this)] = columns
        for item in tree.this.expressions:
            if isinstance(item, exp.ColumnDef):
                for what in column_keys(item):
                    check(item, columns.get(item.name.lower()), what)
            for idents, what in table_keys(item):
                for ident in idents:
                    check(ident, columns.get(ident.name.lower()), what)
    elif isinstance(tree.this, exp.Index) and isinstance(tree.this.args.get("table"), exp.Table):
        columns = tables.get(table_key(tree.this.args["table"]), {})
        params = tree.this.args.get("params")
        for ordered in (params.args.get("columns") or []) if params is not None else []:
            ident = unwrap_identifier(ordered)
            check(ident, columns.get(ident.name.lower()), "an index")


def _check_portable_trees(trees: tuple[exp.Expr, ...], code: str, out: _Batch) -> None:
    for tree in trees:
        keyword = next((word for kind, word in _PROCEDURAL_TREES.items() if isinstance(tree, kind)), None)
        if keyword:
            out.add(_line_of_word(code, keyword.split()[0]), f"{keyword} {_PROCEDURAL_REASON}")
        elif isinstance(tree, exp.Command):
            out.add(
                _line_of_word(code, str(tree.this)),
                f"statement outside the supported subset: {tree.sql('tsql')[:60]!r}",
            )
        elif isinstance(tree, _BARE_EXPRESSIONS):  # e.g. DBCC CHECKDB reads as "column DBCC aliased CHECKDB"
            out.add(
                1, f"statement outside the supported subset (not a statement sqlglot knows): {tree.sql('tsql')[:60]!r}"
            )
        for add_node in tree.find_all(exp.Add):
            if _is_string(add_node.left) or _is_string(add_node.right):
                out.add(
                    _line_of(code, code.find("+")) if "+" in code else 1,
                    f"'+' on strings is not portable: use CONCAT(...) ({add_node.sql('tsql')[:60]!r})",
                )


def lint_batch(script: str, batch_no: int, batch: str, *, portable: bool = True) -> list[LintError]:
    """Every rule broken by one batch (``batch_no`` counts from 1, as the runner's messages do).

    ``portable=False`` is for statements only the SQL Server backend sends: the portable-subset rules
    (procedural, IDENTITY, sqlglot translatability) are skipped, T-SQL validity is not.
    """
    out = _Batch(script, batch_no)
    scan = _scan(batch)
    code = scan.code
    if scan.unclosed:
        return [
            LintError(
                script,
                batch_no,
                _line_of(code, len(code.rstrip())),
                f"unterminated {scan.unclosed}: is there a GO line inside it? (GO always splits batches)",
            )
        ]
    _check_string_literals(batch, scan, out)
    before = len(out.found)
    for m in _GO_NOT_ALONE.finditer(code):
        out.add(_line_of(code, m.start()), "GO must stand on its own line (optionally 'GO <count>' and a -- comment)")
    _check_duckdb_only(code, out)
    if portable:
        _check_portable_patterns(code, out)
    if len(out.found) > before:
        return out.found  # a split batch, procedural or DuckDB-only text: what sqlglot makes of it is noise
    try:
        located = [(0, 0, tree) for tree in parse_batch(batch)]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        if portable:
            first = str(exc).splitlines()[0]
            errors = getattr(exc, "errors", None)
            line = errors[0].get("line") if errors else None
            out.add(int(line or 1), f"not parseable as T-SQL: {first}")
            return out.found
        located = _parse_statements_apart(batch, code)
    trees = tuple(tree for _, _, tree in located)
    views = [t for t in trees if isinstance(t, exp.Create) and (t.kind or "").upper() == "VIEW"]
    if views and len(trees) > 1:
        out.add(_line_of_word(code, "VIEW"), "CREATE VIEW must be alone in its batch (put GO before and after it)")
    tables: dict[str, dict[str, exp.DataType]] = {}
    for line_offset, char_offset, tree in located:
        if isinstance(tree, exp.Create) and tree.args.get("exists"):
            out.add(
                _line_of_word(code, "CREATE"),
                "CREATE ... IF NOT EXISTS is not T-SQL: the ledger already runs each migration once",
            )
        _check_keywords(tree, batch, (line_offset, char_offset), out)
        _check_character_lengths(tree, line_offset, out)
        _check_order_by_without_top(tree, line_offset, out)
        _check_max_keys(tree, line_offset, out, tables)
    if portable:
        _check_portable_trees(trees, code, out)
    return out.found


def lint_batches(script: str, batches: list[str] | tuple[str, ...], *, portable: bool = True) -> list[LintError]:
    """Every finding of a sequence of batches (numbered from 1)."""
    found: list[LintError] = []
    for batch_no, batch in enumerate(batches, start=1):
        found.extend(lint_batch(script, batch_no, batch, portable=portable))
    return found
