"""Reject migration SQL outside the T-SQL subset that both Azure SQL and DuckDB (via sqlglot) run.

The rules and their reasons are in ``sql/README.md``. The runner lints every pending file before it
applies anything, so an unportable migration fails on a laptop, not halfway through production.
Two passes: keywords on the code with strings and comments blanked out (cheap, and catches what
sqlglot would misread), then the parsed statements (catches the same constructs mid-line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp

from scout.migrations.files import Migration, split_batches

_PROCEDURAL_REASON = "is procedural/session T-SQL outside the subset (the ledger already runs each migration once, in one transaction)"

# Statement-start keywords sqlglot may misread (RAISERROR parses as a function call, GOTO as an alias).
# SET is left to the parse pass: at a line start it is usually an UPDATE's SET clause.
_FORBIDDEN_STATEMENTS = re.compile(
    r"^\s*(IF(?!\s+(?:NOT\s+)?EXISTS\b)|WHILE|EXEC|EXECUTE|DECLARE|BEGIN\s+TRAN(?:SACTION)?|COMMIT|ROLLBACK|USE|PRINT"
    r"|RAISERROR|THROW|GOTO)\b",
    re.IGNORECASE | re.MULTILINE,
)
# The same constructs as parsed statements, wherever they sit in the batch.
_PROCEDURAL_TREES: dict[type, str] = {
    exp.IfBlock: "IF", exp.WhileBlock: "WHILE", exp.Execute: "EXEC", exp.Declare: "DECLARE",
    exp.Transaction: "BEGIN TRAN", exp.Commit: "COMMIT", exp.Rollback: "ROLLBACK", exp.Use: "USE", exp.Set: "SET",
}
_BARE_EXPRESSIONS = (exp.Alias, exp.Column, exp.Identifier, exp.Anonymous, exp.Literal)
_IDENTITY = re.compile(r"\bIDENTITY\b", re.IGNORECASE)
_DROP_INDEX_ON = re.compile(r"\bDROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?\S+\s+ON\b", re.IGNORECASE)
_GO_NOT_ALONE = re.compile(r"^[ \t]*GO\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class LintError:
    script: str
    batch: int
    line: int  # line within the batch
    message: str

    def __str__(self) -> str:
        return f"{self.script} batch {self.batch} line {self.line}: {self.message}"


def _strip_comments_and_strings(sql: str) -> tuple[str, str | None]:
    """Blank out comments and string literals (keeping line breaks) so patterns see only code.

    Also returns what was left open at the end ("string literal" / "block comment"), else None: a
    batch that ends inside a string was cut by a ``GO`` line inside that string.
    """
    out, i, n, unclosed = [], 0, len(sql), None
    while i < n:
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
        elif sql[i] == "'" or (sql[i] in "Nn" and sql.startswith("'", i + 1) and not (i and (sql[i - 1].isalnum() or sql[i - 1] == "_"))):
            start = i
            i += 2 if sql[i] in "Nn" else 1
            closed = False
            while i < n:
                if sql.startswith("''", i):
                    i += 2
                elif sql[i] == "'":
                    i += 1
                    closed = True
                    break
                else:
                    i += 1
            if not closed:
                unclosed = "string literal"
            body = sql[start:i]
            out.append(re.sub(r"[^\n']", "x", body[:-1] if closed else body) + ("'" if closed else ""))
        else:
            out.append(sql[i])
            i += 1
    return "".join(out), unclosed


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _line_of_word(code: str, word: str) -> int:
    """Line of the first occurrence of ``word`` in the code (1 when it cannot be located)."""
    match = re.search(r"\b" + r"\s+".join(map(re.escape, word.split())), code, re.IGNORECASE)
    return _line_of(code, match.start()) if match else 1


@lru_cache(maxsize=4096)
def _statements(batch: str) -> tuple[exp.Expression, ...]:
    return tuple(t for t in sqlglot.parse(batch, read="tsql") if t is not None)


def _is_string(node: exp.Expression) -> bool:
    return isinstance(node, exp.National) or (isinstance(node, exp.Literal) and node.is_string)


def lint_batch(script: str, batch_no: int, batch: str) -> list[LintError]:
    """Every rule broken by one batch (``batch_no`` counts from 1, as the runner's messages do)."""
    errors: list[LintError] = []
    code, unclosed = _strip_comments_and_strings(batch)

    def add(line: int, message: str) -> None:
        if not any(e.line == line and e.message == message for e in errors):
            errors.append(LintError(script, batch_no, line, message))

    if unclosed:
        return [LintError(script, batch_no, _line_of(code, len(code.rstrip())),
                          f"unterminated {unclosed}: is there a GO line inside it? (GO always splits batches)")]
    for m in _GO_NOT_ALONE.finditer(code):
        add(_line_of(code, m.start()), "GO must stand on its own line (optionally 'GO <count>' and a -- comment)")
    for m in _FORBIDDEN_STATEMENTS.finditer(code):
        add(_line_of(code, m.start(1)), f"{' '.join(m.group(1).upper().split())} {_PROCEDURAL_REASON}")
    for m in _IDENTITY.finditer(code):
        add(_line_of(code, m.start()), "IDENTITY columns don't translate to DuckDB: use app-made UUIDs or natural keys")
    for m in _DROP_INDEX_ON.finditer(code):
        add(_line_of(code, m.start()), "DROP INDEX ... ON is T-SQL only: drop the table, or leave the index")
    if errors:
        return errors
    try:
        trees = _statements(batch)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        first = str(exc).splitlines()[0]
        line = getattr(exc, "errors", None) and exc.errors[0].get("line")
        return [LintError(script, batch_no, int(line or 1), f"not parseable as T-SQL: {first}")]
    views = [t for t in trees if isinstance(t, exp.Create) and (t.kind or "").upper() == "VIEW"]
    if views and len(trees) > 1:
        add(_line_of_word(code, "VIEW"), "CREATE VIEW must be alone in its batch (put GO before and after it)")
    for tree in trees:
        keyword = next((word for kind, word in _PROCEDURAL_TREES.items() if isinstance(tree, kind)), None)
        if keyword:
            add(_line_of_word(code, keyword.split()[0]), f"{keyword} {_PROCEDURAL_REASON}")
        elif isinstance(tree, exp.Command):
            add(_line_of_word(code, str(tree.this)), f"statement outside the supported subset: {tree.sql('tsql')[:60]!r}")
        elif isinstance(tree, _BARE_EXPRESSIONS):  # e.g. DBCC CHECKDB reads as "column DBCC aliased CHECKDB"
            add(1, f"statement outside the supported subset (not a statement sqlglot knows): {tree.sql('tsql')[:60]!r}")
        elif isinstance(tree, exp.Create) and tree.args.get("exists"):
            add(_line_of_word(code, "CREATE"), "CREATE ... IF NOT EXISTS is not T-SQL: the ledger already runs each "
                                               "migration once")
        for add_node in tree.find_all(exp.Add):
            if _is_string(add_node.left) or _is_string(add_node.right):
                add(_line_of(code, code.find("+")) if "+" in code else 1,
                    f"'+' on strings is not portable: use CONCAT(...) ({add_node.sql('tsql')[:60]!r})")
    return errors


def lint_migration(m: Migration) -> list[LintError]:
    """Every rule broken by a migration file, batch by batch."""
    errors: list[LintError] = []
    for batch_no, batch in enumerate(m.batches, start=1):
        errors.extend(lint_batch(m.script, batch_no, batch))
    return errors


def lint_text(script: str, text: str) -> list[LintError]:
    """Lint a whole file's text, split on GO lines exactly as the runner splits it."""
    errors: list[LintError] = []
    for batch_no, batch in enumerate(split_batches(text), start=1):
        errors.extend(lint_batch(script, batch_no, batch))
    return errors
