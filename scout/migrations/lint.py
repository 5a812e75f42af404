"""Lint migration files with the T-SQL lint every statement passes (``scout.sql.lint``).

The rules and their reasons are in ``sql/README.md``. The runner lints every pending file before it
applies anything, so a migration SQL Server would reject, or DuckDB would read differently, fails on a
laptop, not halfway through production. Migrations are always linted as portable SQL: they run on both
engines. What the migrations build together (foreign keys, tables created twice) is checked by
``scout.sql.schema_lint``.
"""

from __future__ import annotations

from scout.migrations.files import Migration, split_batches
from scout.sql.lint import ERROR, WARNING, LintError, lint_batch, lint_batches

__all__ = ["ERROR", "WARNING", "LintError", "lint_batch", "lint_migration", "lint_text"]


def _keep(found: list[LintError], warnings: bool) -> list[LintError]:
    return found if warnings else [e for e in found if e.is_error]


def lint_migration(m: Migration, *, warnings: bool = False) -> list[LintError]:
    """Every error of a migration file, batch by batch (and its warnings too with ``warnings=True``)."""
    return _keep(lint_batches(m.script, m.batches), warnings)


def lint_text(script: str, text: str, *, warnings: bool = False) -> list[LintError]:
    """Lint a whole file's text, split on GO lines exactly as the runner splits it."""
    return _keep(lint_batches(script, split_batches(text)), warnings)
