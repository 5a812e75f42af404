"""``scout sql render``'s run of the results analysis on its scratch database (``exercise``): factors of a
segment and its parent, patterns, rich content stored for a session, read back, and re-evaluated once
the pattern rules change (the rule edit itself is the DBA's, not the app's: not recorded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scout.config import Settings

_SESSION, _GENERATION = "render-analysis", "00000000-0000-0000-0000-000000000012"


def exercise(settings: Settings, recorder: Any) -> None:
    from scout.db import connect
    from scout.results import analysis

    with connect(settings) as db:
        with recorder.paused():
            region = db.query_value("SELECT MIN(region) FROM dbo.Stores")
        made = analysis.analyse(db, "region", str(region))
        db.retry_transaction(lambda tx: analysis.save(tx, _SESSION, _GENERATION, made, datetime(2025, 1, 1)))
        analysis.load(db, _SESSION, _GENERATION)  # matches made under the current rules: read as stored
        with recorder.paused():
            condition = db.query_value("SELECT rule_condition FROM results.pattern_rules WHERE pattern_id = 'P001'")
            db.execute("UPDATE results.pattern_rules SET rule_condition = 'F2.hi < 0' WHERE pattern_id = 'P001'")
        analysis.load(db, _SESSION, _GENERATION)  # the rules changed: re-evaluated and stored again
        with recorder.paused():
            db.execute("UPDATE results.pattern_rules SET rule_condition = ? WHERE pattern_id = 'P001'", (condition,))
            analysis.delete_session(db, _SESSION)
