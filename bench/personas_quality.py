"""Persona quality on demo data: held-out macro-F1 and ECE before/after `scout personas fit`, at 0 %, 20 %
and 80 % of interactions with a transcript, and how many personas are assigned without transcript or
observed role.

    .venv/bin/python bench/personas_quality.py [--transactions 20000] [--observed-share 0.25] [--seed 42]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from scout.config import Settings
from scout.db import connect
from scout.demo.seed import seed_demo
from scout.migrations import job as migrations
from scout.personas.compiler import HELD_OUT
from scout.personas.evaluate import evaluate_in
from scout.personas.fit import fit_in
from scout.personas.job import infer_in

RIGHT_WITHOUT_WORDS = (
    "SELECT COUNT(DISTINCT p.role) FROM ref.transaction_personas AS p "
    "JOIN ref.demo_latent_personas AS l ON l.canonical_tx_id = p.canonical_tx_id "
    "WHERE p.role = l.persona AND p.role <> 'Regular' "
    "AND p.reasons NOT LIKE '%explicit:%' AND p.reasons NOT LIKE '%term:%'"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--observed-share", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(
        "| transcripts | labelled | held-out macro-F1 before → after | held-out ECE before → after | personas right without words, before → after | fit s |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="scout-bench-quality-") as folder:
        for share in (0.0, 0.2, 0.8):
            settings = Settings.from_env(
                {}, SCOUT_DATABASE_URL=f"duckdb:///{Path(folder) / f'q{int(share * 100)}.duckdb'}"
            )
            migrations.apply(trigger="cli", settings=settings)
            with connect(settings) as db:
                seed_demo(
                    db,
                    transactions=args.transactions,
                    seed=args.seed,
                    transcript_share=share,
                    observed_share=args.observed_share,
                )
                infer_in(db, full=True)
                reach_before = db.query_value(RIGHT_WITHOUT_WORDS)
                before = evaluate_in(db)["parts"][HELD_OUT]
                started = time.perf_counter()
                fit_in(db)
                seconds = time.perf_counter() - started
                after_report = evaluate_in(db)
                after = after_report["parts"][HELD_OUT]
                infer_in(db)
                reach_after = db.query_value(RIGHT_WITHOUT_WORDS)
            print(
                f"| {share:.0%} | {after_report['labelled']:,} | {before['macro_f1']:.3f} → {after['macro_f1']:.3f} "
                f"| {before['ece']:.3f} → {after['ece']:.3f} | {reach_before} → {reach_after} of 12 | {seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
