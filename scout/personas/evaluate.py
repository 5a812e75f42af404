"""How often persona inference is right: ``scout personas evaluate [--json] [--chart PATH]``.

The labels are the roles staff observed (``EmotionalState`` holding a rule's role name, or ``Regular``).
Each labelled transaction is scored with that observation masked — otherwise the 1000-point explicit
signal would make every answer right — and falls, by a fixed hash of its id
(scout.personas.compiler.split_of), in the *fit* part (70 %) or the *held-out* part (30 %): weights are
fitted on the first and judged on the second only.

The database scores (scout.personas.compiler.compile_evaluation: part, label, inferred role and
confidence per labelled transaction); :func:`aggregate` and :func:`metrics_of` are pure arithmetic on
those, shared with the fit (scout.personas.fit), which produces the same judgements in numpy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from scout.config import Settings
from scout.db.base import Database
from scout.personas.compiler import FIT, HELD_OUT, HELD_OUT_PERCENT, compile_evaluation
from scout.personas.rules import FALLBACK_ROLE, load_calibration, load_rules, load_weights, rules_checksum

PARTS = (FIT, HELD_OUT)
BANDS = 10  # confidence tenths: band b holds confidence in [b/10, (b+1)/10), 1.0 in band 9

#: One aggregate: (part, observed label, inferred role, confidence band, transactions, sum of confidence).
Aggregate = tuple[str, str, str, int, int, float]


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def part_metrics(rows: Iterable[Aggregate]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall, confusion, Regular rate and calibration of one part.

    Macro-F1 averages F1 over every class that was observed or inferred (so inferring a role nobody
    observed costs); precision of a class never inferred is 0."""
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    band_n = [0] * BANDS
    band_conf = [0.0] * BANDS
    band_right = [0] * BANDS
    n = right = regular = 0
    for _part, label, role, band, count, confidence_sum in rows:
        count = int(count)
        confusion[label][role] += count
        n += count
        b = min(max(int(band), 0), BANDS - 1)
        band_n[b] += count
        band_conf[b] += float(confidence_sum)
        if label == role:
            right += count
            band_right[b] += count
        if role == FALLBACK_ROLE:
            regular += count
    classes = sorted(set(confusion) | {r for row in confusion.values() for r in row})
    per_class = {}
    for c in classes:
        tp = confusion.get(c, {}).get(c, 0)
        support = sum(confusion.get(c, {}).values())
        inferred = sum(row.get(c, 0) for row in confusion.values())
        precision, recall = _ratio(tp, inferred), _ratio(tp, support)
        per_class[c] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(_ratio(2 * precision * recall, precision + recall), 4),
            "observed": support,
            "inferred": inferred,
        }
    calibration = [
        {
            "band": f"{b / 10:.1f}-{(b + 1) / 10:.1f}",
            "transactions": band_n[b],
            "mean_confidence": round(_ratio(band_conf[b], band_n[b]), 4),
            "accuracy": round(_ratio(band_right[b], band_n[b]), 4),
        }
        for b in range(BANDS)
        if band_n[b]
    ]
    ece = sum(abs(band_right[b] - band_conf[b]) for b in range(BANDS)) / n if n else 0.0
    return {
        "transactions": n,
        "accuracy": round(_ratio(right, n), 4),
        "macro_f1": round(_ratio(sum(v["f1"] for v in per_class.values()), len(per_class)), 4),
        "regular_rate": round(_ratio(regular, n), 4),
        "ece": round(ece, 4),
        "per_class": per_class,
        "confusion": {label: dict(sorted(row.items())) for label, row in sorted(confusion.items())},
        "calibration": calibration,
    }


def metrics_of(rows: Sequence[Aggregate]) -> dict[str, dict[str, Any]]:
    """The metrics of each part of the split, from the aggregates."""
    return {part: part_metrics(r for r in rows if r[0] == part) for part in PARTS}


def aggregate(judgements: Iterable[tuple[str, str, str, float]]) -> list[Aggregate]:
    """Count (part, label, role, confidence) judgements per part, label, role and confidence tenth."""
    counts: dict[tuple[str, str, str, int], list[float]] = defaultdict(lambda: [0, 0.0])
    for part, label, role, confidence in judgements:
        cell = counts[(part, label, role, band_of(confidence))]
        cell[0] += 1
        cell[1] += float(confidence)
    return [(p, lb, r, b, int(n), c) for (p, lb, r, b), (n, c) in sorted(counts.items())]


def band_of(confidence: float) -> int:
    """The confidence tenth (0-9): [b/10, (b+1)/10), and 1.0 in the last."""
    return min(int(float(confidence) * 10 + 1e-9), BANDS - 1)


def judgements_in(
    db: Database, weights: dict[str, int] | None = None, calibration: Any = None
) -> list[tuple[str, str, str, float]]:
    """(part, label, role, confidence) per labelled transaction, scored by the database (current weights and
    calibration unless given)."""
    statement = compile_evaluation(
        load_rules(db),
        weights if weights is not None else load_weights(db),
        load_calibration(db) if calibration is None else calibration,
    )
    return [(str(p), str(lb), str(r), float(c)) for _tx, p, lb, r, c in db.query(statement)]


def evaluate_in(db: Database) -> dict[str, Any]:
    """The evaluation report of the rules, weights and calibration in force."""
    rules, weights, calibration = load_rules(db), load_weights(db), load_calibration(db)
    parts = metrics_of(aggregate(judgements_in(db, weights, calibration)))
    return {
        "rules_checksum": rules_checksum(rules, weights, calibration),
        "held_out_percent": HELD_OUT_PERCENT,
        "labelled": sum(p["transactions"] for p in parts.values()),
        "calibrated": bool(calibration),
        "parts": parts,
    }


def evaluate(settings: Settings | None = None, chart: str | None = None) -> dict[str, Any]:
    """Evaluate on the configured database; with ``chart``, also write the reliability diagram there."""
    from scout.db import connect

    with connect(settings or Settings.from_env()) as db:
        report = evaluate_in(db)
    if chart:
        write_chart(report, chart)
        report["chart"] = str(chart)
    return report


def write_chart(report: dict[str, Any], path: str | Path) -> None:
    """A reliability diagram (PNG): per confidence tenth, the share right against the mean confidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for part, marker in ((FIT, "s"), (HELD_OUT, "o")):
        bands = report["parts"][part]["calibration"]
        ax.plot(
            [b["mean_confidence"] for b in bands],
            [b["accuracy"] for b in bands],
            marker=marker,
            label=f"{part} (ECE {report['parts'][part]['ece']:.3f}, n={report['parts'][part]['transactions']})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("stored confidence (mean of the tenth)")
    ax.set_ylabel("share right (observed role = inferred role)")
    ax.set_title("Persona inference: reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
