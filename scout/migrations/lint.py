"""Reject migration SQL outside the T-SQL subset that both Azure SQL and DuckDB (via sqlglot) run.

The rules and their reasons are in ``sql/README.md``. The runner lints every file before it applies
anything, so an unportable migration fails on a laptop, not halfway through production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from scout.migrations.files import Migration

# Procedural and session statements: the ledger already makes each migration run once, in a transaction.
_FORBIDDEN_STATEMENTS = re.compile(
    r"^\s*(IF|WHILE|EXEC|EXECUTE|DECLARE|BEGIN\s+TRAN|BEGIN\s+TRANSACTION|COMMIT|ROLLBACK|USE|PRINT|SET|RAISERROR|THROW|GOTO)\b",
    re.IGNORECASE | re.MULTILINE,
)
_IDENTITY = re.compile(r"\bIDENTITY\s*\(", re.IGNORECASE)
_DROP_INDEX_ON = re.compile(r"\bDROP\s+INDEX\s+\S+\s+ON\b", re.IGNORECASE)
_CREATE_VIEW = re.compile(r"^\s*CREATE\s+(OR\s+ALTER\s+)?VIEW\b", re.IGNORECASE | re.MULTILINE)
_GO_IN_TEXT = re.compile(r"^[ \t]*GO\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class LintError:
    script: str
    batch: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.script} batch {self.batch} line {self.line}: {self.message}"


def _strip_comments_and_strings(sql: str) -> str:
    """Blank out comments and string literals (keeping line breaks) so patterns see only code."""
    out, i, n = [], 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            out.append(re.sub(r"[^\n]", " ", sql[i:end]))
            i = end
        elif sql[i] == "'" or (sql[i] in "Nn" and sql.startswith("'", i + 1)):
            start = i
            i += 2 if sql[i] in "Nn" else 1
            while i < n:
                if sql[i] == "'" and sql.startswith("''", i):
                    i += 2
                elif sql[i] == "'":
                    i += 1
                    break
                else:
                    i += 1
            out.append("'" + re.sub(r"[^\n]", "x", sql[start + 1:i - 1]) + "'")
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def lint_batch(script: str, batch_no: int, batch: str) -> list[LintError]:
    errors: list[LintError] = []
    code = _strip_comments_and_strings(batch)

    def add(pos: int, message: str) -> None:
        errors.append(LintError(script, batch_no, _line_of(code, pos), message))

    for m in _FORBIDDEN_STATEMENTS.finditer(code):
        add(m.start(1), f"{m.group(1).upper()} is procedural/session T-SQL outside the subset "
                        "(the ledger already runs each migration once, in one transaction)")
    for m in _IDENTITY.finditer(code):
        add(m.start(), "IDENTITY columns don't translate to DuckDB: use app-made UUIDs or natural keys")
    for m in _DROP_INDEX_ON.finditer(code):
        add(m.start(), "DROP INDEX ... ON is T-SQL only: drop the table, or leave the index")
    views = list(_CREATE_VIEW.finditer(code))
    if views and len(_statements(batch)) > 1:
        add(views[0].start(), "CREATE VIEW must be alone in its batch (put GO before and after it)")
    if errors:
        return errors
    try:
        trees = _statements(batch)
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return [LintError(script, batch_no, 1, f"not parseable as T-SQL: {first}")]
    for tree in trees:
        if isinstance(tree, exp.Command):
            add(0, f"statement outside the supported subset: {tree.sql('tsql')[:60]!r}")
        for add_node in tree.find_all(exp.Add):
            if any(isinstance(side, exp.Literal) and side.is_string for side in (add_node.left, add_node.right)):
                add(0, f"'+' on strings is not portable: use CONCAT(...) ({add_node.sql('tsql')[:60]!r})")
    return errors


def _statements(batch: str) -> list[exp.Expression]:
    return [t for t in sqlglot.parse(batch, read="tsql") if t is not None]


def lint_migration(m: Migration) -> list[LintError]:
    errors: list[LintError] = []
    for batch_no, batch in enumerate(m.batches, start=1):
        errors.extend(lint_batch(m.script, batch_no, batch))
    return errors


def lint_text(script: str, text: str) -> list[LintError]:
    """Lint a whole file's text (GO lines split batches, as the runner does)."""
    from scout.migrations.files import split_batches

    errors: list[LintError] = []
    for batch_no, batch in enumerate(split_batches(text), start=1):
        if _GO_IN_TEXT.search(_strip_comments_and_strings(batch)):
            errors.append(LintError(script, batch_no, 1, "GO must stand on its own line"))
        errors.extend(lint_batch(script, batch_no, batch))
    return errors
