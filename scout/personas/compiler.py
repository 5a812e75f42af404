"""Compile the active persona rules into ONE set-based T-SQL statement the database executes.

Scoring is an aggregation of *signal rows*: every (transaction, rule, signal) that holds becomes a row
with its weight and a label (``term:eskwela``); a rule's score is the sum of its signals minus
``priority`` × weight; the best rule at or above the threshold wins (ties: priority, then name),
else ``Regular``. Reasons are the winning rule's four heaviest signals. Rule values are validated
(scout.personas.rules) and written as quoted literals, so the statement reads no unvalidated text.
"""

from __future__ import annotations

import re

from scout.personas.rules import FALLBACK_ROLE, Rule

_HEX = re.compile(r"^[0-9a-f]{64}$")

# Punctuation becomes a space, so terms match whole words: ' eskwela ' in ' sa eskwela, po '.
_PUNCTUATION = ".,!?;:()\"/\\\n\r\t"


def quote(value: str) -> str:
    return "N'" + value.replace("'", "''") + "'"


def _values(name: str, columns: tuple[str, str], rows: list[tuple[int, str]]) -> str:
    """A two-column relation of literals; an empty list is an empty relation of the right types."""
    if not rows:
        return (f"{name} AS (SELECT CAST(NULL AS INT) AS {columns[0]}, CAST(NULL AS NVARCHAR(200)) AS {columns[1]} "
                f"WHERE 1 = 0)")
    body = ", ".join(f"({rule_id}, {quote(value)})" for rule_id, value in rows)
    return f"{name} AS (SELECT * FROM (VALUES {body}) AS v({columns[0]}, {columns[1]}))"


def _int(value: int | None) -> str:
    return "CAST(NULL AS INT)" if value is None else str(int(value))


def _rules_relation(rules: list[Rule]) -> str:
    rows = ", ".join(
        f"({r.rule_id}, {quote(r.role_name)}, {int(r.priority)}, {_int(r.hour_min)}, {_int(r.hour_max)}, "
        f"{_int(r.min_items)}, {_int(r.min_age)}, {_int(r.max_age)})" for r in rules)
    return ("rules AS (SELECT * FROM (VALUES " + rows +
            ") AS v(rule_id, role_name, priority, hour_min, hour_max, min_items, min_age, max_age))")


def _normalized_words(column: str) -> str:
    expr = f"LOWER(COALESCE({column}, ''))"
    for ch in _PUNCTUATION:
        expr = f"REPLACE({expr}, {quote(ch)}, ' ')"
    return f"CONCAT(' ', {expr}, ' ')"


def daypart_case(hour: str) -> str:
    return (f"CASE WHEN {hour} BETWEEN 5 AND 11 THEN 'Morning' WHEN {hour} BETWEEN 12 AND 17 THEN 'Afternoon' "
            f"WHEN {hour} BETWEEN 18 AND 22 THEN 'Evening' ELSE 'Night' END")


def compile_inference(rules: list[Rule], weights: dict[str, int], checksum: str, *, full: bool) -> str:
    """The INSERT ... SELECT that scores every transaction still to score and writes ref.transaction_personas."""
    if not _HEX.match(checksum):
        raise ValueError("checksum must be a sha256 hex digest")
    w = {k: int(v) for k, v in weights.items()}
    pending = "" if full else (
        "WHERE NOT EXISTS (SELECT 1 FROM ref.transaction_personas AS p "
        f"WHERE p.canonical_tx_id = t.canonical_tx_id AND p.rules_checksum = '{checksum}')")
    relations = [
        _rules_relation(rules),
        _values("rule_terms", ("rule_id", "term"), [(r.rule_id, t) for r in rules for t in r.include_terms]),
        _values("rule_excludes", ("rule_id", "term"), [(r.rule_id, t) for r in rules for t in r.exclude_terms]),
        _values("rule_categories", ("rule_id", "category"),
                [(r.rule_id, c.lower()) for r in rules for c in r.categories]),
        _values("rule_brands", ("rule_id", "brand"), [(r.rule_id, b.lower()) for r in rules for b in r.brands]),
        _values("rule_dayparts", ("rule_id", "daypart"), [(r.rule_id, d) for r in rules for d in r.dayparts]),
        _values("rule_genders", ("rule_id", "gender"), [(r.rule_id, g.lower()) for r in rules for g in r.genders]),
    ]
    return f"""
WITH {", ".join(relations)},
ix AS (
    SELECT canonical_tx_id, MIN(TransactionDate) AS ix_ts, MAX(Age) AS age, MAX(Gender) AS gender,
           STRING_AGG(CAST(TranscriptionText AS NVARCHAR(MAX)), ' ') AS transcript
    FROM dbo.SalesInteractions
    GROUP BY canonical_tx_id
),
tx0 AS (
    SELECT t.canonical_tx_id, t.total_items, ix.age, ix.gender,
           DATEPART(hour, COALESCE(ix.ix_ts, t.txn_ts)) AS hr,
           {_normalized_words("ix.transcript")} AS words
    FROM dbo.Transactions AS t
    LEFT JOIN ix ON ix.canonical_tx_id = t.canonical_tx_id
    {pending}
),
tx AS (
    SELECT canonical_tx_id, total_items, age, gender, hr, words, {daypart_case("hr")} AS daypart FROM tx0
),
basket AS (
    SELECT DISTINCT i.canonical_tx_id, LOWER(i.category) AS category, LOWER(i.brand) AS brand,
           i.category AS category_label, i.brand AS brand_label
    FROM dbo.TransactionItems AS i
    JOIN tx ON tx.canonical_tx_id = i.canonical_tx_id
),
explicit_roles AS (
    SELECT DISTINCT si.canonical_tx_id, r.rule_id, r.role_name
    FROM dbo.SalesInteractions AS si
    JOIN tx ON tx.canonical_tx_id = si.canonical_tx_id
    JOIN rules AS r ON LOWER(LTRIM(RTRIM(si.EmotionalState))) = LOWER(r.role_name)
),
signals AS (
    SELECT canonical_tx_id, rule_id, {w['explicit']} AS w, 1 AS ord, CONCAT('explicit:', role_name) AS label
    FROM explicit_roles
    UNION ALL
    SELECT tx.canonical_tx_id, rt.rule_id, {w['term']}, 2, CONCAT('term:', MIN(rt.term))
    FROM tx JOIN rule_terms AS rt ON tx.words LIKE CONCAT('% ', rt.term, ' %')
    GROUP BY tx.canonical_tx_id, rt.rule_id
    UNION ALL
    SELECT b.canonical_tx_id, rc.rule_id, {w['category']}, 3, CONCAT('category:', MIN(b.category_label))
    FROM basket AS b JOIN rule_categories AS rc ON rc.category = b.category
    GROUP BY b.canonical_tx_id, rc.rule_id
    UNION ALL
    SELECT b.canonical_tx_id, rb.rule_id, {w['brand']}, 4, CONCAT('brand:', MIN(b.brand_label))
    FROM basket AS b JOIN rule_brands AS rb ON rb.brand = b.brand
    GROUP BY b.canonical_tx_id, rb.rule_id
    UNION ALL
    SELECT tx.canonical_tx_id, r.rule_id, {w['age']}, 5, CONCAT('age:', tx.age)
    FROM tx JOIN rules AS r ON tx.age IS NOT NULL AND (r.min_age IS NOT NULL OR r.max_age IS NOT NULL)
        AND (r.min_age IS NULL OR tx.age >= r.min_age) AND (r.max_age IS NULL OR tx.age <= r.max_age)
    UNION ALL
    SELECT tx.canonical_tx_id, r.rule_id, {w['hour']}, 6, CONCAT('hour:', tx.hr)
    FROM tx JOIN rules AS r ON r.hour_min IS NOT NULL AND r.hour_max IS NOT NULL
        AND ((r.hour_min <= r.hour_max AND tx.hr >= r.hour_min AND tx.hr <= r.hour_max)
          OR (r.hour_min > r.hour_max AND (tx.hr >= r.hour_min OR tx.hr <= r.hour_max)))
    UNION ALL
    SELECT tx.canonical_tx_id, rd.rule_id, {w['daypart']}, 7, CONCAT('daypart:', tx.daypart)
    FROM tx JOIN rule_dayparts AS rd ON rd.daypart = tx.daypart
    UNION ALL
    SELECT tx.canonical_tx_id, rg.rule_id, {w['gender']}, 8, CONCAT('gender:', tx.gender)
    FROM tx JOIN rule_genders AS rg ON rg.gender = LOWER(tx.gender)
    UNION ALL
    SELECT tx.canonical_tx_id, r.rule_id, {w['items']}, 9, CONCAT('items:', tx.total_items)
    FROM tx JOIN rules AS r ON r.min_items IS NOT NULL AND tx.total_items >= r.min_items
),
vetoed AS (
    SELECT DISTINCT tx.canonical_tx_id, re.rule_id
    FROM tx JOIN rule_excludes AS re ON tx.words LIKE CONCAT('% ', re.term, ' %')
),
scored AS (
    SELECT s.canonical_tx_id, s.rule_id, MAX(r.role_name) AS role_name, MAX(r.priority) AS priority,
           SUM(s.w) - {w['priority']} * MAX(r.priority) AS score,
           MAX(CASE WHEN s.ord = 1 THEN 1 ELSE 0 END) AS has_explicit
    FROM signals AS s JOIN rules AS r ON r.rule_id = s.rule_id
    GROUP BY s.canonical_tx_id, s.rule_id
),
eligible AS (
    SELECT sc.* FROM scored AS sc
    WHERE sc.score >= {w['threshold']}
      AND (sc.has_explicit = 1 OR NOT EXISTS (
          SELECT 1 FROM vetoed AS v WHERE v.canonical_tx_id = sc.canonical_tx_id AND v.rule_id = sc.rule_id))
),
ranked AS (
    SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.canonical_tx_id ORDER BY e.score DESC, e.priority, e.role_name) AS rn,
           SUM(e.score) OVER (PARTITION BY e.canonical_tx_id) AS total
    FROM eligible AS e
),
winner AS (SELECT canonical_tx_id, rule_id, role_name, score, total FROM ranked WHERE rn = 1),
reason_rows AS (
    SELECT s.canonical_tx_id, s.label, s.w, s.ord,
           ROW_NUMBER() OVER (PARTITION BY s.canonical_tx_id ORDER BY s.w DESC, s.ord, s.label) AS k
    FROM signals AS s JOIN winner AS wn ON wn.canonical_tx_id = s.canonical_tx_id AND wn.rule_id = s.rule_id
),
reasons AS (
    SELECT canonical_tx_id, STRING_AGG(label, '; ') WITHIN GROUP (ORDER BY w DESC, ord, label) AS reasons
    FROM reason_rows WHERE k <= 4
    GROUP BY canonical_tx_id
),
best AS (SELECT canonical_tx_id, MAX(score) AS best FROM scored GROUP BY canonical_tx_id)
INSERT INTO ref.transaction_personas (canonical_tx_id, role, confidence, reasons, rules_checksum, scored_at)
SELECT tx.canonical_tx_id,
       COALESCE(wn.role_name, {quote(FALLBACK_ROLE)}),
       CAST(CASE
           WHEN wn.rule_id IS NOT NULL THEN ROUND(1.0 * wn.score / wn.total, 4)
           WHEN b.best IS NULL OR b.best <= 0 THEN 1
           WHEN b.best >= {w['threshold']} THEN 0
           ELSE ROUND(1.0 - 1.0 * b.best / {w['threshold']}, 4)
       END AS DECIMAL(5, 4)),
       rs.reasons, '{checksum}', SYSUTCDATETIME()
FROM tx
LEFT JOIN winner AS wn ON wn.canonical_tx_id = tx.canonical_tx_id
LEFT JOIN reasons AS rs ON rs.canonical_tx_id = tx.canonical_tx_id
LEFT JOIN best AS b ON b.canonical_tx_id = tx.canonical_tx_id
"""
