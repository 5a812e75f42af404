"""The nightly refresh of standing scenarios: each scenario is read, validated and submitted on its own.

Standing scenarios come from SCOUT_MONTECARLO_STANDING_SCENARIOS (a JSON list) and the active rows of
``results.scenarios``; with none, every region. One bad scenario (invalid JSON, a field out of range,
an unknown segment, a failed submission) is logged with its name and reason and the others still run;
the refresh is a recorded job (``ops.job_runs``, job ``montecarlo.standing``) whose summary says how many
started and which failed, and which ends ``failed`` when any did.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scout.config import Settings
from scout.errors import InvalidInput, first_line
from scout.montecarlo.scenario import Scenario, parse_scenario

log = logging.getLogger("scout.montecarlo.standing")

JOB = "montecarlo.standing"
SETTING = "SCOUT_MONTECARLO_STANDING_SCENARIOS"
ACTIVE_SCENARIOS_SQL = "SELECT name, [definition] FROM results.scenarios WHERE is_active = 1 ORDER BY name"
REGIONS_SQL = (
    "SELECT MIN(RTRIM(region) COLLATE Latin1_General_100_BIN2) AS region FROM dbo.Stores "
    "GROUP BY UPPER(RTRIM(region)) ORDER BY MIN(RTRIM(region) COLLATE Latin1_General_100_BIN2)"
)


@dataclass(frozen=True)
class Candidate:
    """One standing scenario as found: its name, and either its definition or why it cannot be read."""

    name: str
    definition: dict[str, Any] | None = None
    error: str | None = None


class StandingScenariosFailed(RuntimeError):
    """Some standing scenarios did not start (the others did); ``summary`` lists them."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def _decoded(name: str, text: Any) -> Candidate:
    try:
        definition = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        return Candidate(name, error=f"definition is not valid JSON ({exc})")
    if not isinstance(definition, dict):
        return Candidate(name, error="definition must be a JSON object (a scenario)")
    return Candidate(str(definition.get("name") or name), {"name": name, **definition})


def candidates(settings: Settings, db: Any) -> list[Candidate]:
    """Every standing scenario, read but not yet validated; an unreadable one carries its reason."""
    found: list[Candidate] = []
    raw = settings[SETTING]
    if raw:
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if not isinstance(items, list):
            found.append(Candidate(SETTING, error=f"{SETTING} must be a JSON list of scenarios"))
        else:
            found += [_decoded(f"{SETTING}[{i}]", item) for i, item in enumerate(items)]
    found += [_decoded(str(name), definition) for name, definition in db.query(ACTIVE_SCENARIOS_SQL)]
    if not found:
        found = [
            Candidate(f"region {r[0]}", {"segment": {"region": r[0]}, "horizon_days": 30, "name": f"region {r[0]}"})
            for r in db.query(REGIONS_SQL)
        ]
    return found


def _reason(exc: BaseException) -> str:
    text = first_line(exc)
    return text[:500] if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {text[:500]}"


def submit_each(found: list[Candidate], submit: Callable[[Scenario], dict[str, Any]]) -> dict[str, Any]:
    """Validate and submit each candidate on its own; returns what started and what failed, with why."""
    started: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    for candidate in found:
        try:
            if candidate.error:
                raise InvalidInput(candidate.error)
            run = submit(parse_scenario(candidate.definition or {}))
            started.append({"name": candidate.name, "run_id": run["run_id"]})
        except Exception as exc:  # noqa: BLE001 - one bad scenario must not stop the others
            failed.append({"name": candidate.name, "reason": _reason(exc)})
            log.warning("standing scenario %r not started: %s", candidate.name, failed[-1]["reason"])
    return {
        "total": len(found),
        "submitted": len(started),
        "skipped": len(failed),
        "started": started,
        "failed": failed,
    }


def refresh(*, trigger: str = "timer", invocation_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """Submit every standing scenario as a normal queued run; raises JobFailed (after the others ran)
    when any did not start, its summary naming each with the reason."""
    from scout.jobs.runs import run_job
    from scout.montecarlo.job import submit

    settings = settings or Settings.from_env()

    def body(ctx: Any) -> dict[str, Any]:
        summary = submit_each(
            candidates(settings, ctx.db), lambda scenario: submit(scenario, settings=settings, trigger=trigger)
        )
        if summary["failed"]:
            names = "; ".join(f"{f['name']}: {f['reason']}" for f in summary["failed"])
            raise StandingScenariosFailed(
                f"{summary['skipped']} of {summary['total']} standing scenarios not started "
                f"({summary['submitted']} started): {names}",
                summary,
            )
        return summary

    return run_job(JOB, trigger, body, settings=settings, invocation_id=invocation_id)
