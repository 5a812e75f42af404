"""T-SQL as DuckDB runs it: the translation keeps the result and avoids DuckDB's slow constructs."""

import duckdb
import pytest

from scout.db.translate import tsql_statement_to_duckdb, tsql_to_duckdb

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


# Collations: the portable SQL asks for code-point order where Azure SQL's case-insensitive default
# would make an order or a shown spelling arbitrary; DuckDB's own order is code-point order.
SPELLINGS = [
    (1, "lucky me"),
    (1, "Lucky Me "),
    (1, "Lucky Me"),
    (1, "LUCKY ME"),
    (2, "Niña"),
    (2, "nina"),
    (2, None),
    (3, None),
]


@pytest.fixture
def spellings():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INT, p VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [list(r) for r in SPELLINGS])
    return con


def test_a_binary_collation_is_dropped_for_duckdb_which_compares_code_points_already(spellings):
    translated = tsql_statement_to_duckdb(
        "SELECT k, MIN(RTRIM(p) COLLATE Latin1_General_100_BIN2) AS shown FROM t GROUP BY k"
    )

    assert "COLLATE" not in translated.upper()
    assert dict(spellings.execute(translated).fetchall()) == {1: "LUCKY ME", 2: "Niña", 3: None}


@pytest.mark.parametrize("direction", ["", " DESC"])
def test_string_agg_ordered_by_a_binary_collation_takes_the_sorted_list_path(spellings, direction):
    tsql = (
        f"SELECT k, STRING_AGG(p, '; ') WITHIN GROUP (ORDER BY p COLLATE Latin1_General_100_BIN2{direction}) "
        "AS x FROM t GROUP BY k"
    )
    native = f"SELECT k, string_agg(p, '; ' ORDER BY p{direction}) AS x FROM t GROUP BY k"

    translated = tsql_statement_to_duckdb(tsql)

    assert "LIST_SORT" in translated.upper() and "COLLATE" not in translated.upper()
    assert sorted(spellings.execute(translated).fetchall()) == sorted(spellings.execute(native).fetchall())


def test_an_order_by_a_binary_collation_keeps_sql_servers_nulls_first(spellings):
    translated = tsql_statement_to_duckdb("SELECT p FROM t WHERE k = 2 ORDER BY p COLLATE Latin1_General_100_BIN2")
    assert spellings.execute(translated).fetchall() == [(None,), ("Niña",), ("nina",)]


@pytest.mark.parametrize("collation", ["Latin1_General_CI_AS", "SQL_Latin1_General_CP1_CI_AS", "Latin1_General_BIN"])
def test_any_other_collation_is_kept_and_duckdb_refuses_it(spellings, collation):
    translated = tsql_statement_to_duckdb(f"SELECT MIN(p COLLATE {collation}) FROM t")
    assert f"COLLATE {collation}".upper() in translated.upper()
    with pytest.raises(duckdb.Error, match="(?i)collation"):
        spellings.execute(translated)


def test_nchar_builds_a_control_character():
    translated = tsql_statement_to_duckdb("SELECT CONCAT(N'a', NCHAR(10), NCHAR(9), NCHAR(92)) AS x")
    assert duckdb.connect().execute(translated).fetchone()[0] == "a\n\t\\"


def test_isjson_is_one_zero_or_null_as_on_sql_server_and_a_check_on_it_refuses_bad_json():
    con = duckdb.connect()
    [select] = tsql_to_duckdb("SELECT ISJSON(N'{\"a\": [1]}'), ISJSON(N'{\"a\": '), ISJSON(NULL)")
    assert con.execute(select).fetchall() == [(1, 0, None)]
    [create] = tsql_to_duckdb("CREATE TABLE t (j NVARCHAR(MAX) NULL CHECK (ISJSON(j) = 1))")
    con.execute(create)
    con.execute("INSERT INTO t VALUES ('{}'), (NULL)")  # valid JSON, or nothing
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO t VALUES ('{\"a\": ')")


def test_datalength_counts_trailing_spaces_so_exact_text_equality_sees_them():
    sql = (
        "SELECT CASE WHEN a = b COLLATE Latin1_General_100_BIN2 AND DATALENGTH(a) = DATALENGTH(b) "
        "THEN 1 ELSE 0 END FROM (VALUES (N'x', N'x'), (N'x', N'x '), (N'x', N'X')) AS v(a, b)"
    )
    assert [r[0] for r in duckdb.connect().execute(tsql_statement_to_duckdb(sql)).fetchall()] == [1, 0, 0]


def test_string_escape_json_between_quotes_is_a_json_string_of_the_text():
    import json

    text = 'say "hi"\\ to\n\tme\x01 – niña'
    sql = "SELECT CONCAT(N'{\"a\":', CONCAT(N'\"', STRING_ESCAPE(t, 'json'), N'\"'), N'}') FROM (VALUES (?)) AS v(t)"
    [built] = duckdb.connect().execute(tsql_statement_to_duckdb(sql), [text]).fetchone()
    assert json.loads(built) == {"a": text}


def test_string_escape_anywhere_else_is_refused_rather_than_mistranslated():
    from scout.db.translate import TranslationError

    with pytest.raises(TranslationError, match="STRING_ESCAPE"):
        tsql_statement_to_duckdb("SELECT STRING_ESCAPE(t, 'json') FROM x")


def _row_checksum(*values: str) -> str:
    tagged = ", ".join(f"CASE WHEN {v} IS NULL THEN N'~' ELSE CONCAT(DATALENGTH({v}), N':', {v}) END" for v in values)
    return f"HASHBYTES('SHA2_256', CONCAT_WS(N'|', {tagged}))"


def test_the_row_checksum_hashes_the_values_themselves_on_duckdb():
    """Equal rows, equal checksums; a NULL is not an empty text; a value moved to the next column is
    another row; no text is built (DuckDB's HASH over the values)."""
    sql = (
        f"SELECT {_row_checksum('a', 'CAST(b AS NVARCHAR(20))')} "
        "FROM (VALUES (N'x', 1), (N'x', 1), (N'', 1), (NULL, 1), (N'x', 2), (N'x1', NULL)) AS v(a, b)"
    )
    translated = tsql_statement_to_duckdb(sql)
    assert "SHA256" not in translated and "CONCAT" not in translated
    sums = [r[0] for r in duckdb.connect().execute(translated).fetchall()]
    assert sums[0] == sums[1]
    assert len(set(sums[1:])) == 5


def test_a_row_checksum_as_hex_text_is_a_value_of_another():
    inner = f"CONVERT(NVARCHAR(64), {_row_checksum('a')}, 2)"
    sql = f"SELECT {_row_checksum(inner, 'b')} FROM (VALUES (N'x', N'y'), (N'x', N'y'), (N'x', N'z')) AS v(a, b)"
    sums = [r[0] for r in duckdb.connect().execute(tsql_statement_to_duckdb(sql)).fetchall()]
    assert sums[0] == sums[1] != sums[2]


def test_56_bits_of_a_row_checksum_are_a_number_a_dozen_of_which_add_up_without_overflow():
    share = f"CAST(SUBSTRING({_row_checksum('a')}, 1, 7) AS BIGINT)"
    sql = f"SELECT {share}, {' + '.join([share] * 12)} FROM (VALUES (N'x'), (N'x'), (N'y')) AS v(a)"
    rows = duckdb.connect().execute(tsql_statement_to_duckdb(sql)).fetchall()
    assert all(0 <= one < 2**56 and total == 12 * one for one, total in rows)
    assert rows[0] == rows[1] != rows[2]


def test_a_sum_of_distinct_bits_is_their_or_and_anything_else_stays_a_sum_of_distinct_values():
    bits = "CASE k WHEN N'a' THEN 1 WHEN N'b' THEN 2 WHEN N'c' THEN CAST(4611686018427387904 AS BIGINT) END"
    sql = (
        f"SELECT g, SUM(DISTINCT {bits}) AS mask, SUM(DISTINCT CASE k WHEN N'a' THEN 3 WHEN N'b' THEN 6 END) AS plain "
        "FROM (VALUES (1, N'a'), (1, N'a'), (1, N'b'), (2, N'c'), (2, N'x'), (3, N'x')) AS v(g, k) GROUP BY g ORDER BY g"
    )
    translated = tsql_statement_to_duckdb(sql)
    assert translated.count("BIT_OR(") == 1
    assert duckdb.connect().execute(translated).fetchall() == [(1, 3, 9), (2, 2**62, None), (3, None, None)]
