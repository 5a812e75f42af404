"""Persona inference reads its rules from the database, scores where the data is, and reaches all 12 personas."""

import re
from datetime import datetime

import pytest

from scout.db import connect
from scout.personas.compiler import compile_inference
from scout.personas.job import infer, infer_in
from scout.personas.reference import Interaction, Transaction
from scout.personas.rules import daypart_of, hour_in_window, load_rules, load_weights, rules_checksum
from tests.personas_data import insert_transactions, personas_by_tx


def tx(tx_id, when="2025-09-02 10:00", items=(), total_items=1, **ix):
    interactions = [Interaction(**ix)] if ix else []
    return Transaction(tx_id, datetime.fromisoformat(when), total_items, list(items), interactions)


@pytest.fixture
def db(migrated):
    with connect(migrated) as database:
        yield database


def roles_of(db, transactions):
    insert_transactions(db, transactions)
    infer_in(db, full=True)
    return {k: v[0] for k, v in personas_by_tx(db).items()}


def test_the_night_shift_window_wraps_past_midnight(db):
    assert hour_in_window(23, 22, 5) and hour_in_window(3, 22, 5) and not hour_in_window(12, 22, 5)
    late = tx("late", "2025-09-02 23:40", [("Energy Drinks", "Red Bull")], age=30)
    early = tx("early", "2025-09-03 03:10", [("Instant Coffee", "Nescafe")], age=30)
    noon = tx("noon", "2025-09-03 12:10", [("Instant Coffee", "Nescafe")], age=30)
    roles = roles_of(db, [late, early, noon])
    assert roles["late"] == roles["early"] == "Night-Shift Worker"
    assert roles["noon"] != "Night-Shift Worker"


def test_an_explicitly_observed_role_wins_over_everything(db):
    student_like = tx(
        "t",
        "2025-09-02 08:00",
        [("Snacks", "Piattos")],
        age=15,
        transcript="papasok sa eskwela",
        emotional_state="Farmer",
    )
    assert roles_of(db, [student_like])["t"] == "Farmer"


def test_an_exclude_term_vetoes_its_rule(db):
    base = dict(items=[("Beverages", "Nescafe"), ("Biscuits", "Fita")], age=30)
    at_work = tx("work", "2025-09-02 09:00", transcript="break sa office", **base)
    at_school = tx("school", "2025-09-02 09:00", transcript="break sa office galing school", **base)
    roles = roles_of(db, [at_work, at_school])
    assert roles["work"] == "Office Worker" and roles["school"] != "Office Worker"


def test_terms_match_whole_words_only(db):
    network = tx("network", "2025-09-02 13:00", transcript="the network is slow, html page", age=40)
    gamer = tx("gamer", "2025-09-02 16:00", [("Chips", "Pringles")], age=17, transcript="laro tayo ng ML mamaya!")
    insert_transactions(db, [network, gamer])
    infer_in(db, full=True)
    found = personas_by_tx(db)
    assert "term:work" not in (found["network"][2] or "") and "term:ml" not in (found["network"][2] or "")
    assert found["gamer"][0] == "Teen Gamer" and "term:laro" in found["gamer"][2]


def test_a_phrase_never_spans_two_interactions(db):
    basket = [("Chips", "Pringles")]
    apart = Transaction(
        "apart",
        datetime(2025, 9, 2, 16, 0),
        1,
        basket,
        [Interaction(age=17, transcript="tara, mobile"), Interaction(transcript="legends tayo")],
    )
    together = tx("together", "2025-09-02 16:00", basket, age=17, transcript="tara, mobile legends tayo")
    insert_transactions(db, [apart, together])
    infer_in(db, full=True)
    found = personas_by_tx(db)
    assert found["together"][0] == "Teen Gamer" and "term:mobile legends" in found["together"][2]
    assert "term:" not in (found["apart"][2] or "")


def test_categories_and_brands_count_anywhere_in_the_basket(db):
    basket = [("Canned Goods", "555"), ("Canned Goods", "555"), ("Rice", "NFA"), ("Condiments", "Datu Puti")]
    farmer = tx("farm", "2025-09-02 06:00", basket, total_items=4, age=50, transcript="galing bukid")
    found = roles_of(db, [farmer])
    assert found["farm"] == "Farmer"


def test_reasons_name_up_to_four_deciding_signals_heaviest_first(db):
    student = tx(
        "s",
        "2025-09-02 07:30",
        [("Instant Noodles", "Lucky Me")],
        age=16,
        transcript="Papasok na ako sa eskwela, pabili po",
    )
    insert_transactions(db, [student])
    infer_in(db, full=True)
    role, confidence, reasons = personas_by_tx(db)["s"]
    assert role == "Student" and 0 < confidence <= 1
    assert reasons == "term:eskwela; category:Instant Noodles; age:16; hour:7"


def test_no_signal_falls_back_to_regular(db):
    assert roles_of(db, [tx("plain", "2025-09-02 10:00", [("Snacks", "Oishi")])])["plain"] == "Regular"


def test_every_one_of_the_twelve_personas_is_reachable_on_demo_data(migrated):
    from scout.demo import job as demo

    demo.seed(trigger="cli", transactions=3000, seed=7, settings=migrated)
    result = infer(trigger="cli", settings=migrated)
    with connect(migrated) as db:
        names = {r[0] for r in db.query("SELECT role_name FROM ref.persona_rules")}
    assert names <= set(result["roles"]) and "Regular" in result["roles"]
    assert sum(result["roles"].values()) == 3000


def test_changing_a_rule_in_the_table_changes_the_result_on_the_next_run(db):
    regular = tx("r", "2025-09-02 06:00", [("Snacks", "Oishi")], transcript="pang sabong ng manok")
    assert roles_of(db, [regular])["r"] == "Regular"
    db.execute(
        "UPDATE ref.persona_rules SET include_terms = CONCAT(include_terms, '|sabong') WHERE role_name = 'Farmer'"
    )
    result = infer_in(db)  # incremental: the rules checksum changed, so everything is rescored
    assert result["scored"] == 1 and personas_by_tx(db)["r"][0] == "Farmer"


def test_incremental_scores_only_new_transactions_and_full_rescores_all(migrated):
    first = infer(trigger="cli", settings=migrated)
    assert first["scored"] == 0
    with connect(migrated) as db:
        insert_transactions(db, [tx("a"), tx("b")])
    assert infer(trigger="cli", settings=migrated)["scored"] == 2
    assert infer(trigger="cli", settings=migrated)["scored"] == 0
    assert infer(trigger="cli", full=True, settings=migrated)["scored"] == 2


def test_a_new_scoring_version_rescores_every_transaction_on_the_next_incremental_run(db, monkeypatch):
    from scout.personas import rules

    insert_transactions(db, [tx("a"), tx("b")])
    assert infer_in(db)["scored"] == 2 and infer_in(db)["scored"] == 0
    monkeypatch.setattr(rules, "SCORING_VERSION", rules.SCORING_VERSION + 1)
    assert infer_in(db)["scored"] == 2


def test_an_inactive_rule_is_never_assigned(db):
    explicit = tx("e", emotional_state="Reseller")
    db.execute("UPDATE ref.persona_rules SET is_active = 0 WHERE role_name = 'Reseller'")
    assert roles_of(db, [explicit])["e"] == "Regular"


def test_a_rule_with_a_wildcard_in_a_term_is_refused(db):
    from scout.errors import InvalidInput

    db.execute("UPDATE ref.persona_rules SET include_terms = 'school|%' WHERE role_name = 'Student'")
    with pytest.raises(InvalidInput, match="term '%'"):
        infer_in(db)


def test_dayparts_follow_the_domain_reference():
    assert [daypart_of(h) for h in (4, 5, 11, 12, 17, 18, 22, 23)] == [
        "Night",
        "Morning",
        "Morning",
        "Afternoon",
        "Afternoon",
        "Evening",
        "Evening",
        "Night",
    ]


def test_cli_prints_counts_per_role(migrated, capsys):
    from scout.cli import main

    assert main(["personas", "infer", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["roles"] == {}


# --- The statement as SQL Server reads it --------------------------------------------------------------
# SQL Server drops a backslash followed by a line break inside a string literal (a line continuation),
# so what DuckDB and sqlglot read is not always what SQL Server runs. These tests read the compiled
# statement with a real T-SQL tokenizer and apply SQL Server's rule themselves.

LINE_CONTINUATION = re.compile(r"\\(\r\n|\n|\r)")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def compiled_statement(db) -> str:
    rules = load_rules(db)
    weights = load_weights(db)
    return compile_inference(rules, weights, rules_checksum(rules, weights), full=True)


def string_literals(statement: str) -> list[str]:
    """Every string literal's text between its quotes ('' unescaped), found by the T-SQL tokenizer."""
    from sqlglot.dialects.tsql import TSQL
    from sqlglot.tokens import TokenType

    return [t.text for t in TSQL().tokenize(statement) if t.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING)]


def sql_server_value(node) -> str:
    """The text a constant string expression has on SQL Server: literals (line continuations removed),
    NCHAR(n)/CHAR(n), and CONCAT of those."""
    from sqlglot import exp

    if isinstance(node, exp.National) or (isinstance(node, exp.Literal) and node.is_string):
        return LINE_CONTINUATION.sub("", node.this)
    if isinstance(node, exp.Chr) or (isinstance(node, exp.Anonymous) and node.name.upper() == "NCHAR"):
        return chr(int(node.expressions[0].this))
    if isinstance(node, exp.Concat):
        return "".join(sql_server_value(part) for part in node.expressions)
    raise AssertionError(f"not a constant string expression: {node.sql('tsql')}")


def test_no_string_literal_holds_a_control_character_or_a_line_continuation(db):
    literals = string_literals(compiled_statement(db))

    assert len(literals) > 100  # the tokenizer did find the rules' literals
    assert [t for t in literals if CONTROL.search(t)] == []
    assert [t for t in literals if LINE_CONTINUATION.search(t)] == []


def test_translate_gets_two_equally_long_lists_as_sql_server_reads_them(db):
    from sqlglot import exp

    from scout.db.translate import parse_tsql
    from scout.personas.reference import words_of

    (statement,) = parse_tsql(compiled_statement(db))
    (translate,) = list(statement.find_all(exp.Translate))
    characters, spaces = sql_server_value(translate.args["from_"]), sql_server_value(translate.args["to"])

    assert len(characters) == len(spaces) == 14 and set(spaces) == {" "}
    assert words_of([characters]).strip() == ""  # the reference scorer blanks exactly these characters


def test_the_sql_server_reading_of_a_literal_drops_backslash_line_breaks():
    from sqlglot import exp

    from scout.db.translate import parse_tsql

    (select,) = parse_tsql("SELECT CONCAT(N'a\\\nb\\\r\nc', NCHAR(10))")
    assert sql_server_value(select.find(exp.Concat)) == "abc\n"


def test_a_rule_value_with_a_control_character_is_refused(db):
    from scout.errors import InvalidInput

    db.execute(
        "UPDATE ref.persona_rules SET must_have_brands = CONCAT('Red Bull', CHAR(10), 'Cobra') "
        "WHERE role_name = 'Delivery Rider'"
    )
    with pytest.raises(InvalidInput, match="control character"):
        infer_in(db)
