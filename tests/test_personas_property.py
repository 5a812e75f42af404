"""Property: on any data and any weights, the database's scoring equals the pure-Python reference."""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from scout.db import connect
from scout.personas.reference import Interaction, Transaction
from tests.personas_data import scored_both_ways

# Text as ingestion records it: case and trailing spaces vary (Azure SQL compares them as equal).
CATEGORIES = [
    "Snacks",
    "Beverages",
    "Energy Drinks",
    "Instant Noodles",
    "Milk",
    "Canned Goods",
    "Rice",
    "Soft Drinks",
    "Chips",
    "Personal Care",
    "Tobacco Products",
    "Toys",
    "snacks ",
    "INSTANT NOODLES",
    "energy drinks  ",
    "Snacks\t",
]
BRANDS = [
    "Red Bull",
    "Lucky Me",
    "Coke",
    "Nescafe",
    "Ligo",
    "Pampers",
    "Pringles",
    None,
    "Oishi",
    "lucky me",
    "Lucky Me ",
    "RED BULL ",
    "nescafe",
]
GENDERS = ["Male", "Female", None, "male", "MALE ", "female ", "FEMALE", " Male"]
WORDS = [
    "eskwela",
    "office",
    "trabaho",
    "rider",
    "anak",
    "lolo",
    "gabi",
    "party",
    "bukid",
    "laro",
    "ml",
    "mobile legends",
    "html",
    "network",
    "po",
    "salamat",
    "sari",
    "school",
    "shift",
    "health",
    "Work",
]
ROLES = [
    "Student",
    "Farmer",
    "Night-Shift Worker",
    "Party Buyer",
    "Happy",
    " Reseller ",
    None,
    "farmer",
    "PARTY BUYER  ",
    "student\t",
]
START = datetime(2025, 9, 1)

interaction = st.builds(
    Interaction,
    timestamp=st.one_of(st.none(), st.integers(0, 30 * 24 * 60).map(lambda m: START + timedelta(minutes=m))),
    age=st.one_of(st.none(), st.integers(10, 90)),
    gender=st.sampled_from(GENDERS),
    emotional_state=st.sampled_from(ROLES),
    transcript=st.one_of(st.none(), st.lists(st.sampled_from(WORDS + [",", "!", "."]), max_size=6).map(" ".join)),
)


@st.composite
def transactions(draw):
    count = draw(st.integers(1, 12))
    out = []
    for i in range(count):
        items = draw(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(BRANDS)), max_size=4))
        out.append(
            Transaction(
                f"T{i}",
                START + timedelta(minutes=draw(st.integers(0, 30 * 24 * 60))),
                draw(st.integers(1, 12)),
                items,
                draw(st.lists(interaction, max_size=3)),
            )
        )
    return out


weights = st.fixed_dictionaries(
    {
        "explicit": st.integers(0, 1000),
        "term": st.integers(0, 200),
        "category": st.integers(0, 100),
        "brand": st.integers(0, 100),
        "age": st.integers(0, 80),
        "hour": st.integers(0, 60),
        "daypart": st.integers(0, 50),
        "gender": st.integers(0, 40),
        "items": st.integers(0, 30),
        "priority": st.integers(0, 5),
        "threshold": st.integers(1, 300),
    }
)


@pytest.fixture(scope="module")
def db(tmp_path_factory):

    from scout.config import Settings
    from scout.migrations import job

    path = tmp_path_factory.mktemp("prop") / "prop.duckdb"
    settings = Settings.from_env({"SCOUT_DATABASE_URL": f"duckdb:///{path}"})
    job.apply(trigger="cli", settings=settings)
    with connect(settings) as database:
        yield database


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=transactions(), new_weights=weights)
def test_database_and_reference_agree_on_every_transaction(db, data, new_weights):
    for signal, weight in new_weights.items():
        db.execute("UPDATE ref.persona_weights SET weight = ? WHERE signal = ?", (weight, signal))
    for tx, (role, confidence, reasons), expected in scored_both_ways(db, data):
        assert (role, reasons) == (expected.role, expected.reasons), tx
        assert abs(confidence - expected.confidence) <= 0.0001, tx
