"""T-SQL as DuckDB runs it: the translation keeps the result and avoids DuckDB's slow constructs."""

import duckdb
import pytest

from scout.db.translate import tsql_statement_to_duckdb

ROWS = [(1, "b"), (1, "a"), (1, None), (1, "c"), (2, None), (3, "x"), (4, "Niña"), (4, "Nina"), (4, "a")]


@pytest.mark.parametrize("direction", ["", " DESC", " ASC"])
def test_sorted_string_agg_gives_what_the_ordered_aggregate_gives(direction):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INT, p VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [list(r) for r in ROWS])
    tsql = f"SELECT k, STRING_AGG(p, '; ') WITHIN GROUP (ORDER BY p{direction}) AS x FROM t GROUP BY k"
    native = f"SELECT k, string_agg(p, '; ' ORDER BY p{direction}) AS x FROM t GROUP BY k"

    translated = tsql_statement_to_duckdb(tsql)

    assert "LIST_SORT" in translated.upper()
    assert sorted(con.execute(translated).fetchall()) == sorted(con.execute(native).fetchall())
    assert dict(con.execute(translated).fetchall())[2] is None  # a group of NULLs only gives NULL


def test_string_agg_ordered_by_another_column_keeps_the_ordered_aggregate():
    translated = tsql_statement_to_duckdb("SELECT STRING_AGG(p, ',') WITHIN GROUP (ORDER BY k) FROM t")
    assert "LIST_SORT" not in translated.upper() and "ORDER BY" in translated.upper()
