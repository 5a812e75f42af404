"""Every statement the app can send parses with an independent T-SQL grammar: sqlfluff's ``tsql`` dialect.

Our own lint (``scout.sql.lint``) stands on sqlglot, which accepts almost anything; sqlfluff's grammar is
written apart from it and knows what SQL Server reserves. Each statement is parsed as the server receives
it: pyodbc's ``?`` markers reach SQL Server as ``@P1``..``@Pn`` parameters (the ODBC driver's
``sp_prepexec``), so every ``?`` outside strings, comments and quoted names becomes ``@P<n>`` before parsing.
(sqlfluff's placeholder templater is not used: its pattern would also rewrite a ``?`` inside a string
literal, such as the persona statement's punctuation list.) Each distinct statement is parsed once, the
two big persona statements (~6 s each) in worker processes.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache, lru_cache

import pytest

#: Words sqlfluff's tsql dialect reserves although SQL Server does not: a sqlfluff grammar gap. A statement
#: listed here gets the word bracketed before parsing, so the rest of it is still parsed by sqlfluff, and our
#: lint still checks it as written. test_each_sqlfluff_gap_is_real fails once sqlfluff fixes the gap.
SQLFLUFF_GAPS: dict[str, tuple[str, frozenset[str]]] = {}


# -- parsing as the server receives it -------------------------------------------------------------------

_TOKENS = re.compile(
    r"""
    (?P<skip> --[^\n]* | /\*.*?\*/ | [Nn]?'(?:[^']|'')*' | \[(?:[^\]]|\]\])*\] | "(?:[^"]|"")*" )
  | (?P<marker> \? )
  | (?P<word> [A-Za-z_@#][A-Za-z0-9_@#$]* )
""",
    re.VERBOSE | re.DOTALL,
)


def as_server_receives(sql: str, bracketed: frozenset[str] = frozenset()) -> str:
    """``?`` -> ``@P1``..``@Pn`` outside strings, comments and quoted names; words in ``bracketed`` (upper
    case) -> ``[word]`` there too."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group("marker"):
            count += 1
            return f"@P{count}"
        word = match.group("word")
        if word and word.upper() in bracketed:
            return f"[{word}]"
        return match.group(0)

    return _TOKENS.sub(replace, sql)


@lru_cache(maxsize=1)
def _linter():
    from sqlfluff.core import FluffConfig, Linter

    # raw templater: the text is parsed exactly as written; no size limit: the persona statement is 36 KB
    return Linter(
        config=FluffConfig(overrides={"dialect": "tsql", "templater": "raw", "large_file_skip_byte_limit": 0})
    )


@cache
def parse_problems(sql: str) -> tuple[str, ...]:
    """What sqlfluff's tsql grammar cannot parse in ``sql`` (nothing: it parses)."""
    parsed = _linter().parse_string(sql)
    problems = [v.desc() for v in parsed.violations]  # "Line 2, Position 12: Found unparsable section: ..."
    if parsed.tree is None:
        problems.append("no parse tree")
    elif not problems:
        problems += [
            f"unparsable: {' '.join(s.raw.split())[:120]!r}" for s in parsed.tree.recursive_crawl("unparsable")
        ]
    return tuple(dict.fromkeys(problems))


def gaps_of(name: str) -> frozenset[str]:
    return frozenset(word for word, (_why, names) in SQLFLUFF_GAPS.items() if name in names)


#: Statements this long (the persona statement, ~40 KB: ~6 s each) are parsed in worker processes.
BIG_STATEMENT = 10_000


def parse_each(statements: list[str]) -> dict[str, tuple[str, ...]]:
    """Each distinct statement parsed once: the big ones in two worker processes while this one parses
    the rest (the file then takes about half as long on two cores)."""
    distinct = sorted(set(statements), key=len, reverse=True)
    big = [s for s in distinct if len(s) >= BIG_STATEMENT]
    if len(big) < 2:
        return {s: parse_problems(s) for s in distinct}
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {s: pool.submit(parse_problems, s) for s in big}
        found = {s: parse_problems(s) for s in distinct if s not in futures}
        return {**found, **{s: future.result() for s, future in futures.items()}}


def check(named_statements: list[tuple[str, str]]) -> list[str]:
    """One line per problem sqlfluff finds, naming the file."""
    as_received = [(name, as_server_receives(sql, gaps_of(name))) for name, sql in named_statements]
    problems = parse_each([sql for _, sql in as_received])
    return [f"{name}: {problem}" for name, sql in as_received for problem in problems[sql]]


# -- the statements ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every rendered mssql file (runtime and backend; migrations too), by path under the output folder."""
    from scout.sql.render import render

    out = tmp_path_factory.mktemp("rendered-mssql")
    render("mssql", out)
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.sql"))}


def test_every_migration_batch_parses_with_sqlfluff_tsql() -> None:
    from scout.migrations.files import discover
    from scout.sql.render import migration_statements

    statements = [(s.path, s.tsql) for s in migration_statements()]
    found = discover()
    assert len(statements) == sum(len(m.batches) for m in (*found.versioned, *found.undo.values(), *found.repeatable))
    failures = check(statements)
    assert not failures, "sqlfluff (tsql) cannot parse:\n" + "\n".join(failures)


def test_every_rendered_runtime_and_backend_statement_parses_with_sqlfluff_tsql(rendered: dict[str, str]) -> None:
    started = time.perf_counter()
    statements = [(name, text) for name, text in rendered.items() if not name.startswith("migrations/")]
    assert any(name.startswith("runtime/") for name, _ in statements)
    failures = check(statements)
    assert not failures, "sqlfluff (tsql) cannot parse:\n" + "\n".join(failures)
    print(f"sqlfluff parsed {len(statements)} runtime/backend statements in {time.perf_counter() - started:.1f} s")


def test_the_rendered_migration_files_are_the_batches_parsed(rendered: dict[str, str]) -> None:
    """The DBA's files hold what was parsed: the batch, after the comment saying who sends it."""
    from scout.sql.render import migration_statements

    for statement in migration_statements():
        assert rendered[statement.path].endswith(statement.tsql.strip() + "\n")


# -- the check itself ---------------------------------------------------------------------------------------


def test_sqlfluff_rejects_a_reserved_keyword_used_as_a_bare_name() -> None:
    """What the check catches: SQL Server's Msg 156 on a bare ``percent`` (issue 9, finding 1)."""
    assert parse_problems("UPDATE results.generation_status SET percent = 100 WHERE session_id = @P1")
    assert parse_problems("UPDATE results.generation_status SET [percent] = 100 WHERE session_id = @P1") == ()


def test_markers_become_server_parameters_outside_strings_comments_and_quoted_names() -> None:
    sql = "SELECT N'?', [a?b] FROM t -- why?\nWHERE x = ? AND y IN (?, ?) /* ? */"
    assert as_server_receives(sql) == "SELECT N'?', [a?b] FROM t -- why?\nWHERE x = @P1 AND y IN (@P2, @P3) /* ? */"
    assert (
        as_server_receives("SELECT name, definition, 'definition' FROM t", frozenset({"DEFINITION"}))
        == "SELECT name, [definition], 'definition' FROM t"
    )


def test_each_sqlfluff_gap_is_real() -> None:
    """An allowed gap (none today) is a word SQL Server does not reserve (Microsoft's list) and sqlfluff
    still rejects bare; when sqlfluff fixes it, this fails: drop the entry."""
    from scout.sql.keywords import RESERVED

    for word in SQLFLUFF_GAPS:
        assert word not in RESERVED
        assert parse_problems(f"SELECT {word.lower()} FROM t")
        assert parse_problems(f"SELECT [{word.lower()}] FROM t") == ()


def test_every_allowed_gap_names_a_statement_that_needs_it(rendered: dict[str, str]) -> None:
    """The allow-list stays small and true: each listed statement fails without its workaround."""
    from scout.sql.render import migration_statements

    texts = {**rendered, **{s.path: s.tsql for s in migration_statements()}}
    for word, (_why, names) in SQLFLUFF_GAPS.items():
        for name in names:
            assert name in texts, f"{name} is no longer rendered: drop it from SQLFLUFF_GAPS"
            assert parse_problems(as_server_receives(texts[name])), f"{name} parses without the {word} workaround"
