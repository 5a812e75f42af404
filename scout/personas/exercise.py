"""The persona quality statements, run on the render's scratch database (scout.sql.render DOMAIN_EXERCISES):
an evaluation, a fit that is applied, an inference under the fitted weights and calibration, and the undo.

The render's small demo seed has too few staff-observed roles for a fit, so for the exercise every first
interaction is observed (its shopper's latent persona, from the demo seeder); what EmotionalState held
before is put back afterwards, outside the recording, as are the weights (by the undo itself).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from scout.config import Settings
from scout.db import connect
from scout.personas import evaluate, fit, job


def exercise(settings: Settings, recorder: Any) -> None:
    with recorder.paused(), connect(settings) as db:
        saved = db.query("SELECT InteractionID, EmotionalState FROM dbo.SalesInteractions")
        db.execute(
            "UPDATE dbo.SalesInteractions SET EmotionalState = (SELECT l.persona FROM ref.demo_latent_personas AS l "
            "WHERE l.canonical_tx_id = dbo.SalesInteractions.canonical_tx_id)"
        )
    with tempfile.TemporaryDirectory(prefix="scout-render-personas-") as folder:
        evaluate.evaluate(settings, chart=str(Path(folder) / "reliability.png"))
    fitted = fit.fit(trigger="cli", settings=settings)
    if not fitted["applied"]:
        raise RuntimeError("the render's persona fit was not applied: its writes would not be rendered")
    job.infer(trigger="cli", settings=settings)
    fit.fit(trigger="cli", undo=True, settings=settings)
    with recorder.paused(), connect(settings) as db:
        db.executemany(
            "UPDATE dbo.SalesInteractions SET EmotionalState = ? WHERE InteractionID = ?",
            [(state, ix) for ix, state in saved],
        )
