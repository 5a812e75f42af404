"""Compile the active matching rules into ONE set-based T-SQL statement: people with no target yet are
scored against every rule, and the best rule at or above the threshold makes them a target. The rules
become two inline tables of the statement (rules, title terms) joined with every person, so the
statement grows with the rules as data, not as expressions.

Per person: the title as padded lower-case words (punctuation to spaces, so a term matches whole words
only: ``manager`` is in "Brand Manager, EMEA", not in "Brand Management"), the company's industry and
size, and engagements up to ``as_of`` (a parameter, so a run is reproducible). Per rule ``k``: the first
title term found (``t<k>``), flags for industry, size, enough engagements in the window, an engagement
within the window; score = the weights of the signals that hold − priority × weight. The winner is the
highest score at or above the threshold, ties by priority then rule id; confidence is its share of the
scores of all rules that passed; reasons name its signals, e.g.
``title:brand manager; industry:Pharma; employees:1200; engagements:3 in 30d; last engagement:4d ago``.
"""

from __future__ import annotations

import re

from scout.registry.compiler import quote
from scout.targeting.rules import SIGNALS, MatchRule

_HEX = re.compile(r"^[0-9a-f]{64}$")
_PUNCTUATION = '.,!?;:()"/'
_PUNCTUATION_CODES = (92, 10, 13, 9)


def normalized_words(column: str) -> str:
    """`` brand manager  emea `` from ``Brand Manager, EMEA`` (TRANSLATE: SQL Server 2017+, DuckDB)."""
    punctuation = "CONCAT(" + ", ".join([quote(_PUNCTUATION)] + [f"NCHAR({c})" for c in _PUNCTUATION_CODES]) + ")"
    spaces = quote(" " * (len(_PUNCTUATION) + len(_PUNCTUATION_CODES)))
    return f"CONCAT(' ', TRANSLATE(LOWER(COALESCE({column}, '')), {punctuation}, {spaces}), ' ')"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"unexpected rule value {value!r}")
    return str(value) if isinstance(value, int) else quote(value)


def _rules_values(rules: list[MatchRule]) -> str:
    rows = ",\n        ".join(
        "("
        + ", ".join(
            _literal(v)
            for v in (
                r.rule_id,
                r.persona_unique_id,
                r.industry_id,
                r.industry_name or (None if r.industry_id is None else str(r.industry_id)),
                r.min_employees,
                r.max_employees,
                r.min_engagements,
                r.recency_days,
                r.priority,
            )
        )
        + ")"
        for r in rules
    )
    return rows


def _terms_values(rules: list[MatchRule]) -> str:
    return ",\n        ".join(f"({r.rule_id}, {quote(term)})" for r in rules for term in r.title_terms)


def compile_match(rules: list[MatchRule], weights: dict[str, int], checksum: str) -> str:
    """The INSERT that makes targets of people who have none. The rules are written into the statement as
    two inline tables (rules, title terms), joined with every person: one pass, however many rules.
    Parameters: see ``match_parameters``."""
    if not _HEX.match(checksum):
        raise ValueError("checksum must be a sha256 hex digest")
    if not rules:
        raise ValueError("no rules to compile")
    if not any(r.title_terms for r in rules):
        raise ValueError("no rule has a title term")
    w = {k: int(v) for k, v in weights.items()}
    windows = sorted({r.recency_days for r in rules if r.recency_days is not None})
    counts = ",\n           ".join(
        ["COUNT(*) AS n_all", "MAX(occurred_at) AS last_at"]
        + [
            f"SUM(CASE WHEN occurred_at >= DATEADD(day, -{d}, CAST(? AS DATETIME2)) THEN 1 ELSE 0 END) AS n_{d}"
            for d in windows
        ]
    )
    carried = "".join(f", COALESCE(e.n_{d}, 0) AS n_{d}" for d in windows)
    in_window = "CASE r.recency_days " + " ".join(f"WHEN {d} THEN pe.n_{d}" for d in windows) + " ELSE pe.n_all END"
    if not windows:
        in_window = "pe.n_all"
    window_label = "CASE WHEN recency_days IS NULL THEN '' ELSE CONCAT(' in ', recency_days, 'd') END"
    score = " + ".join(f"{w[sig]} * f_{sig}" for sig in SIGNALS) + f" - {w['priority']} * priority"
    return f"""
WITH rules AS (
    SELECT CAST(v.rule_id AS INT) AS rule_id, CAST(v.persona_unique_id AS NVARCHAR(64)) AS persona_unique_id,
           CAST(v.industry_id AS INT) AS rule_industry_id, CAST(v.industry_label AS NVARCHAR(100)) AS industry_label,
           CAST(v.min_employees AS INT) AS min_employees, CAST(v.max_employees AS INT) AS max_employees,
           CAST(v.min_engagements AS INT) AS min_engagements, CAST(v.recency_days AS INT) AS recency_days,
           CAST(v.priority AS INT) AS priority
    FROM (VALUES
        {_rules_values(rules)}
    ) AS v (rule_id, persona_unique_id, industry_id, industry_label, min_employees, max_employees, min_engagements,
            recency_days, priority)
),
terms AS (
    SELECT CAST(v.rule_id AS INT) AS rule_id, CAST(v.term AS NVARCHAR(200)) AS term
    FROM (VALUES
        {_terms_values(rules)}
    ) AS v (rule_id, term)
),
eng AS (
    SELECT person_id,
           {counts}
    FROM registry.engagements WHERE occurred_at <= CAST(? AS DATETIME2)
    GROUP BY person_id
),
people AS (
    SELECT p.person_id, {normalized_words("p.title")} AS words, c.industry_id, c.employee_count,
           COALESCE(e.n_all, 0) AS n_all{carried},
           DATEDIFF(day, e.last_at, CAST(? AS DATETIME2)) AS days_since_last
    FROM registry.persons AS p
    LEFT JOIN registry.companies AS c ON c.company_id = p.company_id
    LEFT JOIN eng AS e ON e.person_id = p.person_id
    WHERE NOT EXISTS (SELECT 1 FROM registry.targets AS t WHERE t.person_id = p.person_id)
),
titled AS (
    SELECT pe.person_id, tm.rule_id, MIN(tm.term) AS term
    FROM people AS pe JOIN terms AS tm ON pe.words LIKE CONCAT('% ', tm.term, ' %')
    GROUP BY pe.person_id, tm.rule_id
),
flagged AS (
    SELECT pe.person_id, pe.employee_count, pe.days_since_last, r.rule_id, r.persona_unique_id, r.priority,
           r.industry_label, r.recency_days, ti.term, {in_window} AS engaged,
           CASE WHEN ti.term IS NOT NULL THEN 1 ELSE 0 END AS f_title,
           CASE WHEN r.rule_industry_id IS NOT NULL AND pe.industry_id = r.rule_industry_id THEN 1 ELSE 0 END AS f_industry,
           CASE WHEN (r.min_employees IS NOT NULL OR r.max_employees IS NOT NULL) AND pe.employee_count IS NOT NULL
                     AND (r.min_employees IS NULL OR pe.employee_count >= r.min_employees)
                     AND (r.max_employees IS NULL OR pe.employee_count <= r.max_employees) THEN 1 ELSE 0 END AS f_size,
           CASE WHEN r.min_engagements > 0 AND {in_window} >= r.min_engagements THEN 1 ELSE 0 END AS f_engagements,
           CASE WHEN r.recency_days IS NOT NULL AND pe.days_since_last <= r.recency_days THEN 1 ELSE 0 END AS f_recency
    FROM people AS pe
    CROSS JOIN rules AS r
    LEFT JOIN titled AS ti ON ti.person_id = pe.person_id AND ti.rule_id = r.rule_id
),
eligible AS (
    SELECT flagged.*, {score} AS score FROM flagged WHERE {score} >= {w["threshold"]}
),
ranked AS (
    SELECT eligible.*,
           ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY score DESC, priority, rule_id) AS rank_no,
           SUM(score) OVER (PARTITION BY person_id) AS total
    FROM eligible
)
INSERT INTO registry.targets (person_id, persona_id, rule_id, score, confidence, reasons, rules_checksum, as_of, matched_at)
SELECT ranked.person_id, rp.persona_id, ranked.rule_id, ranked.score,
       CAST(ROUND(1.0 * ranked.score / ranked.total, 4) AS DECIMAL(5, 4)),
       CONCAT_WS('; ',
           CASE WHEN f_title = 1 THEN CONCAT('title:', term) END,
           CASE WHEN f_industry = 1 THEN CONCAT('industry:', industry_label) END,
           CASE WHEN f_size = 1 THEN CONCAT('employees:', employee_count) END,
           CASE WHEN f_engagements = 1 THEN CONCAT('engagements:', engaged, {window_label}) END,
           CASE WHEN f_recency = 1 THEN CONCAT('last engagement:', days_since_last, 'd ago') END),
       N'{checksum}', CAST(? AS DATETIME2), SYSUTCDATETIME()
FROM ranked
JOIN registry.personas AS rp ON UPPER(RTRIM(rp.unique_id)) = UPPER(RTRIM(ranked.persona_unique_id))
WHERE ranked.rank_no = 1;
"""


def match_parameters(rules: list[MatchRule], as_of: object) -> tuple[object, ...]:
    """The ``?`` values of ``compile_match``, in order: one per engagement window, then as_of thrice."""
    windows = sorted({r.recency_days for r in rules if r.recency_days is not None})
    return (*([as_of] * len(windows)), as_of, as_of, as_of)
