"""``scout personas fit [--undo]``: fit the signal weights, the threshold and the confidence calibration
on the labelled transactions of the fit part, and keep them only when they are better on held-out ones.

Method (why this one): a **coordinate search maximising macro-F1** over the integer weights the compiled
statement already uses (term, category, brand, age, hour, daypart, gender, items, priority, threshold;
the explicit weight is masked in the evaluation, so it stays). Each step tries every value of one weight
on a grid, keeps the best (ties keep the current value), and the rounds go on until nothing improves.
One constraint comes first: every persona stays reachable without a transcript (its rule's
demographics, basket and time signals together reach the threshold) — macro-F1 on a sample would
otherwise happily give up a persona that is hard to tell apart, and the default weights already leave
three unreachable (Senior Citizen, Health-Conscious, Reseller). It
optimises the metric we report, directly (a logistic regression optimises likelihood, and its per-rule,
per-signal coefficients would not fit the one-weight-per-signal table); the fitted model is the same
rules-as-data scorer, so the inference stays one set-based statement with nothing new to trust; and ten
parameters on thousands of labels hardly overfit — the held-out gate catches it when they do.

The search scores in numpy from the 0/1 signal matrix the database computes once
(scout.personas.compiler.compile_features), with exactly the SQL's semantics (:func:`judge`; a test
checks the database agrees). The calibration map is fitted next, on the fit part, with the weights that
will be in force: isotonic regression (pool-adjacent-violators) of "right" on the winner's score (and,
for Regular, of "Regular was right" on the best score of any rule), pooled into bands of at least
``MIN_BAND`` transactions; the compiled statement applies it as a CASE over score bands.

Decision: the weights are written **only when the held-out macro-F1 improves**; the calibration map when
the weights change or when it lowers the held-out expected calibration error. Every fit is stored in
``ref.persona_fits`` with both versions and the before/after report (applied or not); ``--undo`` puts back
the version before the latest applied fit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scout.config import Settings
from scout.db.base import Database
from scout.errors import InvalidInput
from scout.jobs.runs import JobContext, run_job
from scout.personas.compiler import (
    FIT,
    HELD_OUT,
    NO_SCORE,
    SIGNAL_ORDER,
    Calibration,
    compile_features,
    feature_columns,
)
from scout.personas.evaluate import aggregate, metrics_of
from scout.personas.rules import FALLBACK_ROLE, Rule, load_calibration, load_rules, load_weights, rules_checksum

METHOD = "coordinate search maximising macro-F1; isotonic calibration on score bands"
#: The weights the search moves, and the values it tries for each.
GRID: dict[str, tuple[int, ...]] = {
    **{sig: tuple(range(0, 305, 5)) for sig in SIGNAL_ORDER if sig != "explicit"},
    "priority": tuple(range(0, 31)),
    "threshold": tuple(range(5, 605, 5)),
}
MAX_ROUNDS = 6
MIN_BAND = 25  # transactions per calibration band at least
MIN_LABELLED = 30  # per part: fewer, and no verdict is worth writing


@dataclass
class Labelled:
    """The labelled transactions as the fit sees them: signal flags, vetoes, labels and parts."""

    tx_ids: list[str]
    flags: np.ndarray  # (transactions, rules, signals) 0/1, signals in SIGNAL_ORDER
    vetoes: np.ndarray  # (transactions, rules) 0/1
    labels: list[str]
    parts: np.ndarray  # FIT or HELD_OUT per transaction


def labelled_in(db: Database, rules: list[Rule]) -> Labelled:
    """The signal matrix of every labelled transaction, computed once by the database."""
    rows = db.query(compile_features(rules))
    n, r, s = len(rows), len(rules), len(SIGNAL_ORDER)
    matrix = np.array([row[3:] for row in rows], dtype=np.int8).reshape(n, len(feature_columns(rules)))
    return Labelled(
        tx_ids=[str(row[0]) for row in rows],
        flags=matrix[:, : r * s].reshape(n, r, s),
        vetoes=matrix[:, r * s :],
        labels=[str(row[1]) for row in rows],
        parts=np.array([str(row[2]) for row in rows], dtype=object),
    )


def _rank(rules: list[Rule]) -> np.ndarray:
    """Rule indexes in tie order: priority, then name (as the compiled statement settles ties)."""
    return np.array(sorted(range(len(rules)), key=lambda i: (rules[i].priority, rules[i].role_name)), dtype=np.int64)


@dataclass
class Judged:
    winner: np.ndarray  # rule index, -1 for Regular
    best_eligible: np.ndarray  # float, nan when no rule passed
    best_any: np.ndarray  # float, nan when no signal held
    total: np.ndarray


def judge(data: Labelled, rules: list[Rule], weights: dict[str, int]) -> Judged:
    """Score every labelled transaction as the compiled statement does (explicit masked in the flags)."""
    w = np.array([weights[sig] for sig in SIGNAL_ORDER], dtype=np.float64)
    priority = np.array([weights["priority"] * r.priority for r in rules], dtype=np.float64)
    flags = data.flags.astype(np.float64)
    scores = flags @ w - priority  # (n, rules)
    any_signal = data.flags.sum(axis=2) > 0
    explicit = data.flags[:, :, 0] == 1
    eligible = any_signal & (scores >= weights["threshold"]) & (explicit | (data.vetoes == 0))
    rank = _rank(rules)
    ranked = np.where(eligible, scores, -np.inf)[:, rank]
    best_at = ranked.argmax(axis=1)
    best = ranked[np.arange(len(ranked)), best_at] if len(ranked) else np.zeros(0)
    has = np.isfinite(best)
    winner = np.where(has, rank[best_at] if len(ranked) else best_at, -1)
    any_scores = np.where(any_signal, scores, -np.inf).max(axis=1) if len(ranked) else np.zeros(0)
    return Judged(
        winner=winner,
        best_eligible=np.where(has, best, np.nan),
        best_any=np.where(np.isfinite(any_scores), any_scores, np.nan),
        total=(np.where(eligible, scores, 0)).sum(axis=1),
    )


def _banded(values: np.ndarray, bands: list[tuple[int, float]]) -> np.ndarray:
    ordered = sorted(bands)
    lows = np.array([lo for lo, _ in ordered[1:]], dtype=np.float64)
    confidences = np.array([c for _, c in ordered], dtype=np.float64)
    return confidences[np.searchsorted(lows, values, side="right")]


def confidences(judged: Judged, threshold: int, calibration: Calibration | None) -> np.ndarray:
    """The confidence the compiled statement would store (scout.personas.compiler.confidence_sql)."""
    calibration = calibration or {}
    persona_rows = judged.winner >= 0
    if calibration.get("persona"):
        persona = _banded(np.nan_to_num(judged.best_eligible, nan=NO_SCORE), calibration["persona"])
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            persona = np.round(judged.best_eligible / judged.total, 4)
    best_any = np.nan_to_num(judged.best_any, nan=NO_SCORE)
    if calibration.get("fallback"):
        fallback = _banded(best_any, calibration["fallback"])
    else:
        fallback = np.where(
            (best_any <= 0),
            1.0,
            np.where(best_any >= threshold, 0.0, np.round(1.0 - best_any / max(threshold, 1), 4)),
        )
    return np.where(persona_rows, persona, fallback)


def roles_of(judged: Judged, rules: list[Rule]) -> list[str]:
    names = [r.role_name for r in rules]
    return [names[w] if w >= 0 else FALLBACK_ROLE for w in judged.winner]


def report_of(data: Labelled, rules: list[Rule], weights: dict[str, int], calibration: Calibration | None) -> dict:
    """The evaluation metrics per part, computed in numpy (the same judgements the database makes)."""
    judged = judge(data, rules, weights)
    conf = confidences(judged, weights["threshold"], calibration)
    roles = roles_of(judged, rules)
    return metrics_of(aggregate(zip(data.parts, data.labels, roles, conf, strict=True)))


def macro_f1(labels: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    """Macro-F1 over the classes observed or predicted (label/prediction codes 0..classes-1)."""
    confusion = np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    tp = np.diag(confusion).astype(np.float64)
    observed, inferred = confusion.sum(axis=1), confusion.sum(axis=0)
    present = (observed + inferred) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(observed + inferred > 0, 2 * tp / (observed + inferred), 0.0)
    return float(f1[present].mean()) if present.any() else 0.0


def _applicable(rule: Rule) -> dict[str, bool]:
    """The signals ``rule`` has a criterion for."""
    return {
        "explicit": False,
        "term": bool(rule.include_terms),
        "category": bool(rule.categories),
        "brand": bool(rule.brands),
        "age": rule.min_age is not None or rule.max_age is not None,
        "hour": rule.hour_min is not None,
        "daypart": bool(rule.dayparts),
        "gender": bool(rule.genders),
        "items": rule.min_items is not None,
    }


def unreachable_without_transcripts(rules: list[Rule], weights: dict[str, int]) -> list[str]:
    """The roles whose rule cannot reach the threshold on demographics, basket and time signals alone
    (every such signal holding, no transcript term, no observed role)."""
    out = []
    for rule in rules:
        applicable = _applicable(rule)
        best = sum(weights[sig] for sig in SIGNAL_ORDER if sig not in ("explicit", "term") and applicable[sig])
        if best - weights["priority"] * rule.priority < weights["threshold"]:
            out.append(rule.role_name)
    return out


def search_weights(
    data: Labelled, rules: list[Rule], start: dict[str, int], progress: Callable[[str], None] = lambda _m: None
) -> tuple[dict[str, int], float]:
    """Coordinate search on the fit part: the weights with the highest macro-F1 found among those that
    leave every persona reachable without a transcript (while some is not, fewer unreachable ones come
    first), and that F1."""
    on = data.parts == FIT
    flags = data.flags[on].astype(np.float64)
    vetoes = data.vetoes[on]
    classes = [r.role_name for r in rules] + [FALLBACK_ROLE]
    code = {c: i for i, c in enumerate(classes)}
    labels = np.array([code.get(lb, len(rules)) for lb, keep in zip(data.labels, on, strict=True) if keep])
    prio = np.array([r.priority for r in rules], dtype=np.float64)
    any_signal = flags.sum(axis=2) > 0
    allowed = (flags[:, :, 0] == 1) | (vetoes == 0)
    rank = _rank(rules)
    rows = np.arange(len(labels))

    def objective(w: dict[str, int]) -> tuple[int, float]:
        vector = np.array([w[sig] for sig in SIGNAL_ORDER], dtype=np.float64)
        scores = flags @ vector - w["priority"] * prio
        eligible = any_signal & allowed & (scores >= w["threshold"])
        ranked = np.where(eligible, scores, -np.inf)[:, rank]
        at = ranked.argmax(axis=1)
        predicted = np.where(np.isfinite(ranked[rows, at]), rank[at], len(rules))
        return -len(unreachable_without_transcripts(rules, w)), macro_f1(labels, predicted, len(classes))

    best = dict(start)
    best_score = objective(best)
    for round_no in range(1, MAX_ROUNDS + 1):
        improved = False
        for name, values in GRID.items():
            for value in values:
                if value == best[name]:
                    continue
                trial = {**best, name: value}
                score = objective(trial)
                if score[0] > best_score[0] or (score[0] == best_score[0] and score[1] > best_score[1] + 1e-12):
                    best, best_score, improved = trial, score, True
        progress(f"search round {round_no}: fit macro-F1 {best_score[1]:.4f}, unreachable {-best_score[0]}")
        if not improved:
            break
    return best, best_score[1]


def isotonic_bands(x: np.ndarray, y: np.ndarray, *, increasing: bool, min_count: int) -> list[tuple[int, float]]:
    """Pool-adjacent-violators on ``y`` (0/1) ordered by ``x``, pooled until every band has ``min_count``
    values: (lowest x of the band, mean y) in ascending x."""
    if len(x) == 0:
        return []
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype(np.float64)
    uniq, start = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.append(start, len(xs)))
    blocks = [[float(s), int(c), int(u)] for s, c, u in zip(sums, counts, uniq, strict=True)]  # sum, count, low x
    if not increasing:
        blocks.reverse()
    pooled: list[list[float]] = []
    for block in blocks:
        pooled.append(block)
        while len(pooled) > 1 and pooled[-2][0] / pooled[-2][1] >= pooled[-1][0] / pooled[-1][1]:
            last = pooled.pop()
            pooled[-1] = [pooled[-1][0] + last[0], pooled[-1][1] + last[1], min(pooled[-1][2], last[2])]
    if not increasing:
        pooled.reverse()
    while len(pooled) > 1 and min(b[1] for b in pooled) < min_count:  # pool the smallest into a neighbour
        i = min(range(len(pooled)), key=lambda k: pooled[k][1])
        j = i - 1 if i == len(pooled) - 1 else i + 1
        if 0 < i < len(pooled) - 1:
            mean = pooled[i][0] / pooled[i][1]
            j = min((i - 1, i + 1), key=lambda k: abs(pooled[k][0] / pooled[k][1] - mean))
        a, b = sorted((i, j))
        pooled[a : b + 1] = [
            [pooled[a][0] + pooled[b][0], pooled[a][1] + pooled[b][1], min(pooled[a][2], pooled[b][2])]
        ]
    return [(int(low), round(min(max(s / c, 0.0), 1.0), 4)) for s, c, low in pooled]


def fit_calibration(data: Labelled, rules: list[Rule], weights: dict[str, int]) -> Calibration:
    """The calibration map for ``weights``, fitted on the fit part."""
    on = data.parts == FIT
    judged = judge(data, rules, weights)
    roles = np.array(roles_of(judged, rules), dtype=object)
    labels = np.array(data.labels, dtype=object)
    right = roles == labels
    persona = on & (judged.winner >= 0)
    fallback = on & (judged.winner < 0)
    out: Calibration = {}
    bands = isotonic_bands(judged.best_eligible[persona], right[persona], increasing=True, min_count=MIN_BAND)
    if bands:
        out["persona"] = bands
    best_any = np.nan_to_num(judged.best_any, nan=NO_SCORE)
    bands = isotonic_bands(best_any[fallback], right[fallback], increasing=False, min_count=MIN_BAND)
    if bands:
        out["fallback"] = bands
    return out


def _headline(report: dict) -> dict:
    return {
        part: {k: report[part][k] for k in ("transactions", "accuracy", "macro_f1", "ece", "regular_rate")}
        for part in (FIT, HELD_OUT)
    }


def decide(
    data: Labelled,
    rules: list[Rule],
    weights: dict[str, int],
    calibration: Calibration,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Fit, and decide what to keep (pure: no I/O). Returns the versions before/after and the reports."""
    held = int((data.parts == HELD_OUT).sum())
    if int((data.parts == FIT).sum()) < MIN_LABELLED or held < MIN_LABELLED:
        raise InvalidInput(
            f"too few transactions with a staff-observed role to fit: {len(data.labels)} "
            f"(at least {MIN_LABELLED} in each part are needed)"
        )
    if FALLBACK_ROLE not in set(np.array(data.labels, dtype=object)[data.parts == FIT]):
        raise InvalidInput("no fit-part transaction was observed as Regular: a fit would learn never to answer Regular")
    before = report_of(data, rules, weights, calibration)
    searched, _ = search_weights(data, rules, weights, progress)
    searched_report = report_of(data, rules, searched, fit_calibration(data, rules, searched))
    weights_improve = searched_report[HELD_OUT]["macro_f1"] > before[HELD_OUT]["macro_f1"]
    weights_after = searched if weights_improve else dict(weights)
    refitted = fit_calibration(data, rules, weights_after)
    kept = report_of(data, rules, weights_after, calibration)
    recalibrated = report_of(data, rules, weights_after, refitted)
    calibration_improves = weights_improve or recalibrated[HELD_OUT]["ece"] < kept[HELD_OUT]["ece"]
    calibration_after = refitted if calibration_improves else calibration
    after = recalibrated if calibration_improves else kept
    return {
        "weights_before": dict(weights),
        "weights_after": weights_after,
        "calibration_before": calibration,
        "calibration_after": calibration_after,
        "weights_changed": weights_after != weights,
        "calibration_changed": calibration_after != calibration,
        "report": {
            "unreachable_without_transcripts": {
                "before": unreachable_without_transcripts(rules, weights),
                "after": unreachable_without_transcripts(rules, weights_after),
            },
            "before": _headline(before),
            "searched": _headline(searched_report),
            "after": _headline(after),
            "held_out_after": after[HELD_OUT],
            "rule": "weights only when held-out macro-F1 improves; calibration when the weights change "
            "or it lowers the held-out ECE",
        },
    }


# -- I/O ------------------------------------------------------------------------------------------------


def _calibration_json(calibration: Calibration) -> str:
    return json.dumps({k: [[int(b), float(c)] for b, c in v] for k, v in sorted(calibration.items())})


def _calibration_from(text: str) -> Calibration:
    return {k: [(int(b), float(c)) for b, c in v] for k, v in json.loads(text).items()}


def write_weights(db: Database, weights: dict[str, int]) -> None:
    existing = {str(s).rstrip(" ").lower() for (s,) in db.query("SELECT signal FROM ref.persona_weights")}
    for signal, weight in sorted(weights.items()):
        if signal in existing:
            db.execute(
                "UPDATE ref.persona_weights SET weight = ? WHERE UPPER(RTRIM(signal)) = ?",
                (int(weight), signal.upper()),
            )
        else:
            db.execute("INSERT INTO ref.persona_weights (signal, weight) VALUES (?, ?)", (signal, int(weight)))


def write_calibration(db: Database, calibration: Calibration) -> None:
    db.execute("DELETE FROM ref.persona_calibration")
    rows = [
        (kind, band_no, int(lower), round(float(conf), 4))
        for kind, bands in sorted(calibration.items())
        for band_no, (lower, conf) in enumerate(sorted(bands), start=1)
    ]
    if rows:
        db.executemany(
            "INSERT INTO ref.persona_calibration (kind, band_no, lower_bound, confidence) VALUES (?, ?, ?, ?)", rows
        )


def fit_in(db: Database, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Fit on the labelled transactions, store the fit, and apply it when it is better on held-out data."""
    rules, weights, calibration = load_rules(db), load_weights(db), load_calibration(db)
    data = labelled_in(db, rules)
    progress(f"{len(data.labels)} labelled transactions; searching weights")
    decision = decide(data, rules, weights, calibration, progress)
    applied = decision["weights_changed"] or decision["calibration_changed"]
    fit_id = str(uuid.uuid4())
    with db.transaction():
        fit_no = int(db.query_value("SELECT COALESCE(MAX(fit_no), 0) + 1 FROM ref.persona_fits"))
        db.execute(
            "INSERT INTO ref.persona_fits (fit_id, fit_no, fitted_at, applied, fit_method, weights_before, "
            "weights_after, calibration_before, calibration_after, report) "
            "VALUES (?, ?, SYSUTCDATETIME(), ?, ?, ?, ?, ?, ?, ?)",
            (
                fit_id,
                fit_no,
                applied,
                METHOD,
                json.dumps(decision["weights_before"], sort_keys=True),
                json.dumps(decision["weights_after"], sort_keys=True),
                _calibration_json(decision["calibration_before"]),
                _calibration_json(decision["calibration_after"]),
                json.dumps(decision["report"], sort_keys=True),
            ),
        )
        if decision["weights_changed"]:
            write_weights(db, decision["weights_after"])
        if decision["calibration_changed"]:
            write_calibration(db, decision["calibration_after"])
    return {
        "fit_id": fit_id,
        "fit_no": fit_no,
        "applied": applied,
        "weights_changed": decision["weights_changed"],
        "calibration_changed": decision["calibration_changed"],
        "labelled": len(data.labels),
        "weights_before": decision["weights_before"],
        "weights_after": decision["weights_after"],
        "report": decision["report"],
        "rules_checksum": rules_checksum(rules, decision["weights_after"], decision["calibration_after"]),
    }


def undo_in(db: Database) -> dict[str, Any]:
    """Put back the weights and calibration from before the latest applied fit not yet undone. Refused
    when they were changed since that fit (an undo never overwrites someone's later edit)."""
    with db.transaction():
        row = db.query_one(
            "SELECT fit_id, fit_no, weights_before, weights_after, calibration_before, calibration_after "
            "FROM ref.persona_fits WHERE fit_no = (SELECT MAX(fit_no) FROM ref.persona_fits "
            "WHERE applied = 1 AND rolled_back_at IS NULL)"
        )
        if row is None:
            raise InvalidInput("no applied fit to undo")
        fit_id, fit_no, w_before, w_after, c_before, c_after = row
        if load_weights(db) != json.loads(w_after) or load_calibration(db) != _calibration_from(c_after):
            raise InvalidInput(
                f"the weights or calibration changed since fit {fit_no}: undo refused (see ref.persona_fits to restore by hand)"
            )
        write_weights(db, json.loads(w_before))
        write_calibration(db, _calibration_from(c_before))
        db.execute("UPDATE ref.persona_fits SET rolled_back_at = SYSUTCDATETIME() WHERE fit_id = ?", (fit_id,))
    return {"undone_fit_id": fit_id, "undone_fit_no": int(fit_no), "weights": json.loads(w_before)}


def fit(
    *,
    trigger: str,
    undo: bool = False,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recorded job ``personas.fit`` (or ``personas.fit_undo``)."""
    if not isinstance(undo, bool):
        raise InvalidInput("undo must be true or false")

    def body(ctx: JobContext) -> dict[str, Any]:
        return undo_in(ctx.db) if undo else fit_in(ctx.db, ctx.progress)

    return run_job("personas.fit_undo" if undo else "personas.fit", trigger, body, settings=settings, progress=progress)
