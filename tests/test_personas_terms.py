"""Transcript terms are found by splitting each transcript into words once and looking the words up:
the database still finds exactly the whole words and phrases the reference scorer finds."""

from datetime import datetime

import pytest

from scout.db import connect
from scout.db.translate import tsql_statement_to_duckdb
from scout.personas.reference import Interaction, Transaction
from tests.personas_data import personas_by_tx, scored_both_ways

# A teenager buying chips at 16:00: Teen Gamer wins when a gaming term is heard, and its reasons name it.
GAMER_BASKET = [("Chips", "Pringles"), ("Soft Drinks", "Coke")]


def said(tx_id: str, *transcripts: str | None) -> Transaction:
    interactions = [Interaction(age=16, gender="Male", transcript=t) for t in transcripts]
    return Transaction(tx_id, datetime(2025, 9, 2, 16, 0), 2, list(GAMER_BASKET), interactions)


@pytest.fixture
def db(migrated):
    with connect(migrated) as database:
        yield database


def test_split_words_find_what_the_reference_finds(db):
    transactions = [
        said("phrase", "Tara, Mobile Legends!"),
        said("phrase split over two transcripts", "tara mobile", "legends na"),
        said("phrase with two spaces", "mobile  legends"),
        said("punctuation around words", "ML, game tayo.", "(laro)"),
        said("tab and line break", "sa\teskwela\nkami"),
        said("hyphenated term", "may salu-salo mamaya"),
        said("term inside a word", "programmer ako", "gamer"),
        said("upper case", "VALORANT po"),
        said("empty and missing transcripts", "", None),
        said("no transcript"),
    ]
    for tx, (role, _confidence, reasons), want in scored_both_ways(db, transactions):
        assert (role, reasons) == (want.role, want.reasons), tx.tx_id
    got = personas_by_tx(db)
    assert "term:mobile legends" in got["phrase"][2]
    assert "term:" not in got["phrase split over two transcripts"][2]
    assert "term:" not in got["phrase with two spaces"][2]
    assert "term:" not in got["term inside a word"][2]


def test_cross_apply_string_split_gives_one_row_per_part_on_duckdb(db):
    statement = "SELECT word.value FROM (VALUES (N'eskwela  po ml')) AS t (words) CROSS APPLY STRING_SPLIT(t.words, ' ') AS word"
    rows = db.query(statement)
    assert sorted(r[0] for r in rows) == ["", "eskwela", "ml", "po"]  # as SQL Server: an empty part between spaces
    assert "UNNEST" in tsql_statement_to_duckdb(statement).upper()
