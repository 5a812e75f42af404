"""requirements.in holds the floors (versions that have what the code uses); requirements.txt is their
hashed lock for Linux / Python 3.11, what the Azure build installs (scripts/lock compiles it). The dev lock
agrees with the app's, and what is installed here is exactly what the locks pin."""

from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

#: (package, first version with it, what the code uses)
FEATURES = [
    ("duckdb", "1.4", "MERGE INTO (the persona scores, scout/personas/compiler.py)"),
    ("duckdb", "1.5", "DuckDBPyRelation.to_arrow_reader (stream_arrow, scout/db/duckdb_backend.py)"),
    ("sqlglot", "29", "exp.IfBlock, exp.WhileBlock, exp.Execute (scout/migrations/lint.py)"),
]


def requirements(name: str = "requirements.in") -> dict[str, Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    parsed = [
        Requirement(line) for line in (raw.strip() for raw in lines) if line and not line.startswith(("#", "-r "))
    ]
    return {canonicalize_name(r.name): r for r in parsed}


def lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """``package -> (pinned version, hashes)`` of a lock written by scripts/lock."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        package, pinned = requirement.split("==")
        pins[canonicalize_name(package)] = (pinned, [o.removeprefix("--hash=") for o in options])
    return pins


def floor(requirement: Requirement) -> Version:
    [lowest] = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return lowest


def test_every_requirement_has_a_floor_and_the_installed_version_meets_it():
    for name, requirement in {**requirements(), **requirements("requirements-dev.in")}.items():
        installed = version(name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{name} {installed} vs {requirement}"
        assert floor(requirement) <= Version(installed)


@pytest.mark.parametrize(
    "lock_file, floors_from",
    [
        ("requirements.txt", ["requirements.in"]),
        ("requirements-dev.txt", ["requirements.in", "requirements-dev.in"]),
        ("requirements-checkov.txt", ["requirements-checkov.in"]),
    ],
)
def test_each_lock_pins_every_package_with_hashes_and_meets_the_floors(lock_file, floors_from):
    pins = lock(lock_file)
    assert pins, f"{lock_file} pins nothing"
    for package, (_pinned, hashes) in pins.items():
        assert hashes and all(h.startswith("sha256:") and len(h) == 71 for h in hashes), f"{package}: {hashes}"
    for name in floors_from:
        for package, requirement in requirements(name).items():
            assert package in pins, f"{package} ({name}) is not in {lock_file}"
            assert requirement.specifier.contains(pins[package][0], prereleases=True), (
                f"{lock_file} pins {package}=={pins[package][0]}, outside {requirement}"
            )


def test_the_dev_lock_pins_the_app_as_the_app_lock_does():
    app, dev = lock("requirements.txt"), lock("requirements-dev.txt")
    assert {p: dev[p] for p in app} == app


def test_what_is_installed_here_is_what_the_locks_pin():
    mismatched = {
        p: (pinned, version(p))
        for p, (pinned, _) in lock("requirements-dev.txt").items()
        if Version(version(p)) != Version(pinned)
    }
    assert mismatched == {}, "pip install --require-hashes -r requirements-dev.txt (scripts/test does it)"


@pytest.mark.parametrize("package, first, feature", FEATURES)
def test_the_floor_has_what_the_code_uses(package, first, feature):
    assert floor(requirements()[package]) >= Version(first), f"{package} < {first} lacks {feature}"


def test_the_features_are_there_in_the_installed_versions():
    import duckdb
    from sqlglot import exp

    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INT PRIMARY KEY, v INT)")
    con.execute(
        "MERGE INTO t USING (SELECT 1 AS k, 2 AS v) AS s ON t.k = s.k WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v)"
    )
    reader = con.sql("SELECT k, v FROM t").to_arrow_reader(10)
    assert reader.read_all().to_pylist() == [{"k": 1, "v": 2}]
    assert all(hasattr(exp, name) for name in ("IfBlock", "WhileBlock", "Execute"))
