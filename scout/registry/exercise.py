"""``scout sql render``'s run of the registry and targeting jobs on its scratch database (DOMAIN_EXERCISES):
every statement they send, with representative data."""

from __future__ import annotations

from typing import Any

from scout.config import Settings


def exercise(settings: Settings, recorder: Any) -> None:
    from scout.db import connect
    from scout.demo.persona_sources import AS_OF, generate, generate_targeting, insert_generated
    from scout.registry import job as registry
    from scout.targeting import job as targeting

    with recorder.paused(), connect(settings) as db:  # demo data: only ever written to the embedded database
        data = generate(60, seed=5)
        data.update(generate_targeting(data["legacy.dh_personas"], persons=300, seed=5))
        insert_generated(db, data)
    registry.compare(trigger="cli", settings=settings)  # before: every key range differs, so rows are compared
    registry.consolidate(trigger="cli", settings=settings)
    registry.sync(trigger="timer", settings=settings)
    with recorder.paused(), connect(settings) as db:  # a legacy value changes during dual write
        db.execute("UPDATE legacy.dh_personas SET title = CONCAT(title, N' (acting)') WHERE id = 1")
    registry.sync(trigger="timer", settings=settings)
    targeting.match(trigger="cli", as_of=AS_OF, settings=settings)
    with connect(settings) as db:
        targeting.recommend_in(db, top=3)
        targeting.performance_in(db)
