"""Write reference-scorer transactions into the source tables, so SQL and Python score the same data."""

from __future__ import annotations

from typing import Any

from scout.personas.reference import Transaction


def insert_transactions(db, transactions: list[Transaction]) -> None:
    db.execute("DELETE FROM dbo.TransactionItems")
    db.execute("DELETE FROM dbo.SalesInteractions")
    db.execute("DELETE FROM dbo.Transactions")
    if not db.query_one("SELECT COUNT(*) FROM dbo.Stores WHERE store_id = 1")[0]:
        db.execute(
            "INSERT INTO dbo.Stores (store_id, store_name, region, city) VALUES (1, 'Aling Niña''s Sari-Sari', 'NCR', 'Manila')"
        )
    ix_no = 0
    for tx in transactions:
        db.execute(
            "INSERT INTO dbo.Transactions (canonical_tx_id, store_id, txn_ts, total_amount, total_items) "
            "VALUES (?, 1, ?, ?, ?)",
            (tx.tx_id, tx.txn_ts, 10.0 * max(1, len(tx.items)), tx.total_items),
        )
        for line, (category, brand) in enumerate(tx.items, start=1):
            db.execute(
                "INSERT INTO dbo.TransactionItems (canonical_tx_id, line_no, product_name, brand, category, "
                "quantity, unit_price) VALUES (?, ?, ?, ?, ?, 1, 10)",
                (tx.tx_id, line, f"{brand or 'Generic'} {category or 'item'}", brand, category),
            )
        for ix in tx.interactions:
            ix_no += 1
            db.execute(
                "INSERT INTO dbo.SalesInteractions (InteractionID, canonical_tx_id, StoreID, TransactionDate, Age, "
                "Gender, EmotionalState, TranscriptionText) VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
                (f"IX{ix_no}", tx.tx_id, ix.timestamp, ix.age, ix.gender, ix.emotional_state, ix.transcript),
            )


def personas_by_tx(db) -> dict[str, tuple]:
    return {
        r[0]: (r[1], float(r[2]), r[3])
        for r in db.query("SELECT canonical_tx_id, role, confidence, reasons FROM ref.transaction_personas")
    }


def scored_both_ways(db, transactions: list[Transaction]) -> list[tuple[Transaction, tuple, Any]]:
    """The transactions written and inferred in the database, each with the database's (role, confidence,
    reasons) and the reference scorer's result under the rules and weights the database holds."""
    from scout.personas.job import infer_in
    from scout.personas.reference import score
    from scout.personas.rules import load_rules, load_weights

    insert_transactions(db, transactions)
    infer_in(db, full=True)
    rules, weights = load_rules(db), load_weights(db)
    found = personas_by_tx(db)
    return [(tx, found[tx.tx_id], score(tx, rules, weights)) for tx in transactions]
