"""The registry and targeting routes: JSON answers, JSON 400s for bad input, 404 for an unknown persona."""

from __future__ import annotations

import pytest

from scout.config import Settings
from scout.db import connect
from scout.demo.persona_sources import seed_personas
from tests.conftest import call_http


@pytest.fixture
def seeded(migrated: Settings) -> Settings:
    with connect(migrated) as db:
        seed_personas(db)
    return migrated


def test_consolidate_then_compare_over_http(seeded: Settings, functions: dict) -> None:
    status, body, _ = call_http(functions, "registry_consolidate", "POST")
    assert status == 200 and body["personas"] > 182 and body["run_id"]
    status, body, _ = call_http(functions, "registry_compare", "POST")
    assert status == 200 and body["passed"] is True
    status, body, _ = call_http(functions, "registry_sync", "POST")
    assert status == 200 and body["phase"] == "dual-write" and body["carried"] == 0


def test_match_recommend_and_performance_over_http(seeded: Settings, functions: dict) -> None:
    call_http(functions, "registry_consolidate", "POST")
    status, body, _ = call_http(functions, "targeting_match", "POST", body='{"as_of": "2025-06-30"}')
    assert status == 200 and body["matched"] > 0 and body["as_of"] == "2025-06-30T00:00:00"
    status, body, _ = call_http(functions, "targeting_recommendations", params={"persona": "dh-000001", "top": "2"})
    assert status == 200 and len(body["personas"][0]["strategies"]) == 2
    status, body, _ = call_http(functions, "targeting_performance")
    assert status == 200 and body["personas"]


@pytest.mark.parametrize(
    ("name", "method", "body", "params", "status"),
    [
        ("targeting_match", "POST", '{"as_of": "soon"}', None, 400),
        ("targeting_match", "POST", '{"as_of": 5}', None, 400),
        ("targeting_match", "POST", '{"unknown": 1}', None, 400),
        ("registry_compare", "POST", '{"full": true}', None, 400),
        ("targeting_recommendations", "GET", "", {"top": "0"}, 400),
        ("targeting_recommendations", "GET", "", {"top": "many"}, 400),
        ("targeting_recommendations", "GET", "", {"persona": "nobody"}, 404),
    ],
)
def test_bad_input_is_a_json_error(
    seeded: Settings, functions: dict, name: str, method: str, body: str, params: dict | None, status: int
) -> None:
    call_http(functions, "registry_consolidate", "POST")
    got, payload, _ = call_http(functions, name, method, body=body, params=params)
    assert got == status and payload["error"] and payload["message"]
