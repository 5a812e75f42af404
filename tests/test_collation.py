"""Engines agree on text: the jobs compare text as Azure SQL's default collation does (case-insensitive,
trailing spaces ignored, accents significant), on DuckDB too, and show one spelling of what they group.

The same demo data is seeded twice, once as generated and once with the case and trailing spaces of
genders, observed roles, brands, categories and product names varied row by row, as ingestion delivers
them ('male', 'MALE ', 'Lucky Me ', 'lucky me'). Azure SQL sees no difference between the two: neither
may DuckDB.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import numpy as np
import pytest

from scout.config import Settings
from scout.db import connect
from scout.db.collation import key, shown
from scout.demo.seed import SOURCE_TABLES, generate, write_table
from scout.exports.baskets import summarize
from scout.personas.job import infer_in
from scout.personas.rules import load_rules

TRANSACTIONS = 1_500
SEED = 5

# Every one keeps the key (upper case, trailing spaces removed) of the value it is given.
SPELLINGS = (
    lambda v: v,
    str.lower,
    str.upper,
    lambda v: v + " ",
    lambda v: v.upper() + "  ",
    lambda v: v.lower() + " ",
    str.swapcase,
)
VARIED = {
    "dbo.TransactionItems": ("product_name", "brand", "category"),
    "dbo.SalesInteractions": ("Gender", "EmotionalState"),
}


def spelled_differently(data: dict) -> dict:
    """The same rows with case and trailing spaces varied, value by value."""
    rng = np.random.default_rng(2025)
    for table, columns in VARIED.items():
        for column in columns:
            values = data[table][column]
            picks = rng.integers(0, len(SPELLINGS), len(values))
            data[table][column] = np.array(
                [None if v is None else SPELLINGS[p](v) for v, p in zip(values, picks)], dtype=object
            )
    return data


def seeded(tmp_path, name: str, *, varied: bool) -> tuple[Settings, dict]:
    """A migrated database holding the demo data (varied or not), personas inferred, baskets summarized."""
    from scout.migrations import job

    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{tmp_path / name}.duckdb"})
    job.apply(trigger="cli", settings=settings)
    with connect(settings) as db:
        data = generate(TRANSACTIONS, SEED, [r.__dict__ for r in load_rules(db)])
        if varied:
            data = spelled_differently(data)
        with db.transaction():
            for table in reversed(SOURCE_TABLES):
                write_table(db, table, data[table], lambda _m: None)
        infer_in(db)
        summarize(db, [])
    return settings, data


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("collation")
    return seeded(folder, "clean", varied=False), seeded(folder, "varied", varied=True)


def personas(settings: Settings) -> dict[str, tuple]:
    with connect(settings) as db:
        return {
            r[0]: tuple(r[1:])
            for r in db.query("SELECT canonical_tx_id, role, confidence, reasons FROM ref.transaction_personas")
        }


def sheet(settings: Settings) -> dict[str, dict]:
    with connect(settings) as db:
        columns, chunks = db.stream("SELECT * FROM dbo.v_flat_export_sheet")
        return {row[0]: dict(zip(columns, row)) for chunk in chunks for row in chunk}


def products(cell: str) -> list[str]:
    return cell.split("; ") if cell else []


def test_the_varied_data_really_is_spelled_differently(both):
    (_, clean), (_, varied) = both
    items, clean_items = varied["dbo.TransactionItems"], clean["dbo.TransactionItems"]
    assert {"Lucky Me", "lucky me", "LUCKY ME", "Lucky Me ", "LUCKY ME  "} <= set(items["brand"])
    assert (items["category"] != clean_items["category"]).mean() > 0.5
    genders = set(varied["dbo.SalesInteractions"]["Gender"]) - {None}
    assert {"male", "MALE", "Male ", "FEMALE  ", "female "} <= genders
    assert all(key(v) == key(c) for v, c in zip(items["product_name"], clean_items["product_name"]))


def test_persona_inference_gives_every_transaction_the_same_role_confidence_and_reasons(both):
    (clean, _), (varied, _) = both
    found, expected = personas(varied), personas(clean)

    assert len(found) == TRANSACTIONS
    assert {tx: v[0] for tx, v in found.items()} == {tx: v[0] for tx, v in expected.items()}
    assert found == expected  # reasons name the rules' spellings, so they agree too
    assert len({role for role, _, _ in found.values()}) == 13  # the 12 personas and Regular


def test_the_export_agrees_up_to_the_shown_spelling(both):
    (clean, _), (varied, _) = both
    found, expected = sheet(varied), sheet(clean)
    assert found.keys() == expected.keys() and len(found) == TRANSACTIONS

    spelled = ("Category", "Brand", "Other_Products")
    for tx, row in found.items():
        assert {c: v for c, v in row.items() if c not in spelled} == {
            c: v for c, v in expected[tx].items() if c not in spelled
        }, tx
        assert key(row["Category"]) == key(expected[tx]["Category"]) and key(row["Brand"]) == key(expected[tx]["Brand"])
        listed = products(row["Other_Products"])
        assert sorted(map(key, listed)) == sorted(map(key, products(expected[tx]["Other_Products"]))), tx
        assert listed == sorted(listed), tx  # code-point order, as Latin1_General_100_BIN2 orders


def test_each_shown_spelling_is_the_binary_smallest_without_trailing_spaces(both):
    (_, _), (varied, data) = both
    items = data["dbo.TransactionItems"]
    lines = defaultdict(list)
    for tx, line, name, brand, category, quantity, price in zip(
        items["canonical_tx_id"],
        items["line_no"],
        items["product_name"],
        items["brand"],
        items["category"],
        items["quantity"],
        items["unit_price"],
    ):
        lines[tx].append((-(quantity * price), line, name, brand, category))

    checked_lists = 0
    for tx, row in sheet(varied).items():
        _, _, primary_name, primary_brand, primary_category = min(lines[tx])  # largest amount, then lowest line
        assert (row["Category"], row["Brand"]) == (shown([primary_category]), shown([primary_brand]))
        spellings = defaultdict(list)
        for _, _, name, _, _ in lines[tx]:
            if key(name) != key(primary_name):
                spellings[key(name)].append(name)
        assert products(row["Other_Products"]) == sorted(shown(group) for group in spellings.values())
        checked_lists += any(len(set(group)) > 1 for group in spellings.values())
    assert checked_lists > 20  # baskets holding one product under several spellings


# -- the same rules, written out on small examples ---------------------------------------------------------


@pytest.fixture
def db(migrated):
    with connect(migrated) as database:
        database.execute("INSERT INTO dbo.Stores VALUES (1, 'Aling Niña''s Sari-Sari', 'NCR', 'Quezon City')")
        yield database


def add_basket(
    db, tx_id: str, lines: list[tuple[str, str, str, int]], gender: str | None = None, state: str | None = None
) -> None:
    db.execute(
        "INSERT INTO dbo.Transactions VALUES (?, 1, ?, ?, ?)",
        (tx_id, datetime(2025, 9, 8, 9, 0), sum(p for *_, p in lines), len(lines)),
    )
    for line, (name, brand, category, price) in enumerate(lines, start=1):
        db.execute(
            "INSERT INTO dbo.TransactionItems VALUES (?, ?, ?, ?, ?, 1, ?)", (tx_id, line, name, brand, category, price)
        )
    db.execute(
        "INSERT INTO dbo.SalesInteractions VALUES (?, ?, 1, NULL, 30, ?, ?, NULL)", (f"{tx_id}-i", tx_id, gender, state)
    )


def test_one_product_under_three_spellings_is_listed_once_with_the_smallest(db):
    add_basket(
        db,
        "T1",
        [
            ("Coke Mismo", "Coke", "Soft Drinks", 40),
            ("Lucky Me Pancit Canton", "Lucky Me", "Instant Noodles", 16),
            ("lucky me pancit canton ", "lucky me", "instant noodles", 16),
            ("LUCKY ME PANCIT CANTON", "LUCKY ME ", "Instant Noodles", 16),
            ("Piattos Cheese", "Piattos", "Snacks", 20),
            ("coke mismo", "coke", "soft drinks", 20),
        ],
        gender="male ",
    )
    summarize(db, [])
    (row,) = db.query("SELECT Other_Products, [Demographics (Age/Gender/Role)] FROM dbo.v_flat_export_sheet")
    assert row == ("LUCKY ME PANCIT CANTON; Piattos Cheese", "25-34 Male")


def test_an_observed_role_and_a_gender_count_whatever_their_case_and_padding(db):
    add_basket(
        db, "T1", [("Red Bull 250ml", "RED BULL ", "energy drinks", 60)], gender="MALE  ", state="delivery rider "
    )
    infer_in(db)
    assert db.query("SELECT role, reasons FROM ref.transaction_personas") == [
        ("Delivery Rider", "explicit:Delivery Rider; category:Energy Drinks; brand:Red Bull; age:30")
    ]


def test_the_fallback_role_is_left_out_of_the_demographics_whatever_its_case(db):
    add_basket(db, "T1", [("Coke Mismo", "Coke", "Soft Drinks", 20)], gender="Female")
    db.execute(
        "INSERT INTO ref.transaction_personas VALUES ('T1', 'regular ', 1, NULL, ?, ?)",
        ("0" * 64, datetime(2025, 9, 8)),
    )
    assert db.query("SELECT [Demographics (Age/Gender/Role)] FROM dbo.v_flat_export_sheet") == [("25-34 Female",)]


@pytest.mark.parametrize("name, message", [("regular", "fallback role"), ("FARMER ", "share a role name")])
def test_rule_names_are_compared_as_azure_sql_compares_them(db, name, message):
    from scout.errors import InvalidInput

    db.execute("UPDATE ref.persona_rules SET role_name = ? WHERE role_name = 'Reseller'", (name,))
    with pytest.raises(InvalidInput, match=message):
        load_rules(db)


def test_role_counts_group_as_azure_sql_groups_and_list_in_code_point_order(db):
    for tx_id, role in [("A", "farmer "), ("B", "Student"), ("C", "Farmer"), ("D", "FARMER")]:
        db.execute(
            "INSERT INTO ref.transaction_personas VALUES (?, ?, 1, NULL, ?, ?)",
            (tx_id, role, "0" * 64, datetime(2025, 9, 8)),
        )
    assert list(infer_in(db)["roles"].items()) == [("FARMER", 3), ("Student", 1)]


def test_a_weight_is_found_whatever_the_case_and_padding_of_its_signal_name(db):
    from scout.errors import InvalidInput
    from scout.personas.rules import load_weights

    db.execute("UPDATE ref.persona_weights SET signal = 'Term ', weight = 120 WHERE signal = 'term'")
    assert load_weights(db)["term"] == 120
    db.execute("INSERT INTO ref.persona_weights (signal, weight) VALUES ('TERM', 90)")
    with pytest.raises(InvalidInput, match="given twice"):
        load_weights(db)
