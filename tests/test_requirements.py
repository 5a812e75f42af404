"""requirements.txt is what the Azure build installs: its floors must be versions that have what the
code uses, and what is installed here must satisfy them."""

from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

#: (package, first version with it, what the code uses)
FEATURES = [
    ("duckdb", "1.4", "MERGE INTO (the persona scores, scout/personas/compiler.py)"),
    ("duckdb", "1.5", "DuckDBPyRelation.to_arrow_reader (stream_arrow, scout/db/duckdb_backend.py)"),
    ("sqlglot", "29", "exp.IfBlock, exp.WhileBlock, exp.Execute (scout/migrations/lint.py)"),
]


def requirements() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    parsed = [Requirement(line) for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]
    return {r.name.lower(): r for r in parsed}


def floor(requirement: Requirement) -> Version:
    [lowest] = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return lowest


def test_every_requirement_has_a_floor_and_the_installed_version_meets_it():
    for name, requirement in requirements().items():
        installed = version(name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{name} {installed} vs {requirement}"
        assert floor(requirement) <= Version(installed)


@pytest.mark.parametrize("package, first, feature", FEATURES)
def test_the_floor_has_what_the_code_uses(package, first, feature):
    assert floor(requirements()[package]) >= Version(first), f"{package} < {first} lacks {feature}"


def test_the_features_are_there_in_the_installed_versions():
    import duckdb
    from sqlglot import exp

    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INT PRIMARY KEY, v INT)")
    con.execute("MERGE INTO t USING (SELECT 1 AS k, 2 AS v) AS s ON t.k = s.k "
                "WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v)")
    reader = con.sql("SELECT k, v FROM t").to_arrow_reader(10)
    assert reader.read_all().to_pylist() == [{"k": 1, "v": 2}]
    assert all(hasattr(exp, name) for name in ("IfBlock", "WhileBlock", "Execute"))
