"""Compile the active persona rules into ONE set-based T-SQL statement the database executes.

The rules are data; this module turns them into the statement a person would otherwise hand-write:
every transaction is reduced to one row, and for every rule ``k`` the row gets the signals that hold
(``f<k>_age``, whether the term masks ``h0, h1 …`` hold one of its terms, whether the basket masks
``m0, m1 …`` hold one of its categories …), the rule's score (the weights of its signals minus
``priority`` × weight) and whether it passes the threshold and no exclude term vetoes it. The best
passing rule wins — ties by priority, then name, settled by the order the rules are written in — else
``Regular``. Reasons are the winner's four heaviest signals. Rule values are validated
(scout.personas.rules) and written as quoted literals.

Text is compared as Azure SQL's default collation does, on both engines (scout.db.collation): gender,
observed roles, categories and brands on their keys ``UPPER(RTRIM(x))`` (an observed role, free text
typed by staff, forgives leading spaces too: ``UPPER(LTRIM(RTRIM(x)))``), computed once per row. A
reason names the rule's own spelling of the value that matched (``category:Instant Noodles`` whether
the basket says ``instant noodles `` or not), and when several match, the first key in code-point order.
Terms are whole words or phrases of one transcript (lower case, punctuation as spaces; the reference
scorer joins a transaction's transcripts with two spaces, so a phrase never spans two of them), and
do not depend on the order an engine reads the transcripts in.
No literal holds a control character or a backslash: a backslash before a line break inside a string
is a line continuation on SQL Server, which drops both characters.
"""

from __future__ import annotations

import re

from scout.db.collation import binary_sql, key_sql
from scout.personas.rules import FALLBACK_ROLE, Rule, daypart_of, text_key

_HEX = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Punctuation becomes a space, so terms match whole words: ' eskwela ' in ' sa eskwela, po '.
# Backslash, line feed, carriage return and tab are built with NCHAR, never written inside a literal.
_PUNCTUATION_PRINTABLE = '.,!?;:()"/'
_PUNCTUATION_CODES = (92, 10, 13, 9)
PUNCTUATION = _PUNCTUATION_PRINTABLE + "".join(chr(c) for c in _PUNCTUATION_CODES)

#: Signals in the order reasons list them after weight (as in the reference scorer).
SIGNAL_ORDER = ("explicit", "term", "category", "brand", "age", "hour", "daypart", "gender", "items")


def quote(value: str) -> str:
    """A Unicode string literal. Control characters are refused: written raw they would not survive
    every client and tool, and a backslash before a line break would vanish on SQL Server."""
    if _CONTROL.search(value):
        raise ValueError(f"a control character cannot be written into a string literal: {value!r}")
    return "N'" + value.replace("'", "''") + "'"


def _in_list(expr: str, values: tuple[str, ...]) -> str:
    return f"{expr} IN ({', '.join(quote(v) for v in values)})"


def _keys(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({text_key(v) for v in values}))


def _spelling_of(expr: str, values: tuple[str, ...]) -> str:
    """The rule's spelling of the key ``expr`` holds (the binary-smallest if the rule repeats a value)."""
    if not values:  # the signal never holds: its label is never shown
        return "CAST(NULL AS NVARCHAR(100))"
    spelling: dict[str, str] = {}
    for value in sorted(values):
        spelling.setdefault(text_key(value), value)
    return (
        "CASE "
        + expr
        + " "
        + " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in sorted(spelling.items()))
        + " END"
    )


def _normalized_words(column: str) -> str:
    """Lower case, punctuation to spaces: ``sa eskwela  po`` (TRANSLATE: SQL Server 2017+, DuckDB)."""
    punctuation = (
        "CONCAT(" + ", ".join([quote(_PUNCTUATION_PRINTABLE)] + [f"NCHAR({code})" for code in _PUNCTUATION_CODES]) + ")"
    )
    return f"TRANSLATE(LOWER({column}), {punctuation}, {quote(' ' * len(PUNCTUATION))})"


def daypart_case(hour: str) -> str:
    return (
        f"CASE WHEN {hour} BETWEEN 5 AND 11 THEN 'Morning' WHEN {hour} BETWEEN 12 AND 17 THEN 'Afternoon' "
        f"WHEN {hour} BETWEEN 18 AND 22 THEN 'Evening' ELSE 'Night' END"
    )


def _dayparts_by_hour(dayparts: tuple[str, ...]) -> str:
    """``daypart IN (...)`` as the hours those dayparts span (:func:`daypart_case`; a NULL hour is
    Night): integer comparisons instead of text ones."""
    hours = [h for h in range(24) if daypart_of(h) in dayparts]
    runs: list[list[int]] = []
    for h in hours:
        if runs and runs[-1][1] == h - 1:
            runs[-1][1] = h
        else:
            runs.append([h, h])
    tests = [f"hr = {lo}" if lo == hi else f"hr BETWEEN {lo} AND {hi}" for lo, hi in runs]
    if "Night" in dayparts:
        tests.append("hr IS NULL")
    return "(" + " OR ".join(tests) + ")"


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _signal_flags(r: Rule, basket: _Basket, terms: _Terms) -> dict[str, str]:
    """For rule ``r``: an expression per signal that is 1 when it holds for the transaction row (the
    literal ``0`` for a signal the rule has no criterion for)."""
    k = r.rule_id
    age = "0"
    if r.min_age is not None or r.max_age is not None:
        bounds = [
            f"age >= {r.min_age}" if r.min_age is not None else "",
            f"age <= {r.max_age}" if r.max_age is not None else "",
        ]
        age = _flag(" AND ".join(b for b in bounds if b))  # a NULL age fails every bound
    hour = "0"
    if r.hour_min is not None and r.hour_max is not None:
        hour = _flag(
            f"hr >= {r.hour_min} AND hr <= {r.hour_max}"
            if r.hour_min <= r.hour_max
            else f"(hr >= {r.hour_min} OR hr <= {r.hour_max})"
        )
    return {
        "explicit": f"x{k}",
        "term": _flag(terms.any_of(r.include_terms)) if r.include_terms else "0",
        "category": basket.holds("category", r.categories),
        "brand": basket.holds("brand", r.brands),
        "age": age,
        "hour": hour,
        "daypart": _flag(_dayparts_by_hour(r.dayparts)) if r.dayparts else "0",
        "gender": _flag(_in_list("gender", _keys(r.genders))) if r.genders else "0",
        "items": _flag(f"total_items >= {r.min_items}") if r.min_items is not None else "0",
    }


def _labels(r: Rule, basket: _Basket, terms: _Terms) -> dict[str, str]:
    return {
        "explicit": quote(f"explicit:{r.role_name}"),
        "term": f"CONCAT('term:', {terms.first(r.include_terms)})",
        "category": f"CONCAT('category:', {basket.label('category', r.categories)})",
        "brand": f"CONCAT('brand:', {basket.label('brand', r.brands)})",
        "age": "CONCAT('age:', age)",
        "hour": "CONCAT('hour:', hr)",
        "daypart": f"CONCAT('daypart:', {daypart_case('hr')})",
        "gender": f"CONCAT('gender:', {_spelling_of('gender', r.genders)})",
        "items": "CONCAT('items:', total_items)",
    }


def _signals(r: Rule, basket: _Basket, terms: _Terms) -> list[str]:
    """The signals rule ``r`` has a criterion for (the others never hold), in SIGNAL_ORDER."""
    flags = _signal_flags(r, basket, terms)
    return [sig for sig in SIGNAL_ORDER if flags[sig] != "0"]


def _reasons(r: Rule, weights: dict[str, int], basket: _Basket, terms: _Terms) -> str:
    """The first four signals of rule ``r`` that hold, heaviest first."""
    ordered = sorted(_signals(r, basket, terms), key=lambda sig: (-weights[sig], SIGNAL_ORDER.index(sig)))
    labels, kept = _labels(r, basket, terms), []
    for i, sig in enumerate(ordered):
        before = " + ".join(f"f{r.rule_id}_{p}" for p in ordered[:i])
        # fewer than four signals come before the first four: they are always kept
        kept_if = f"f{r.rule_id}_{sig} = 1" + (f" AND {before} < 4" if i >= 4 else "")
        kept.append(f"CASE WHEN {kept_if} THEN {labels[sig]} END")
    return "CONCAT_WS('; ', " + ", ".join(kept) + ")"


#: Bits per basket mask: a BIGINT holds 62 distinct powers of two with room for their sum.
_MASK_BITS = 62


def _integer(n: int) -> str:
    """The literal ``n``, typed BIGINT beyond INT's range (SQL Server types a larger literal NUMERIC)."""
    return str(n) if n < 2**31 else f"CAST({n} AS BIGINT)"


class _Basket:
    """The basket signals of all rules as bit masks, one bit per category or brand key any rule names.

    Keys get their bits in code-point order, 62 to a mask (a BIGINT holds 62 distinct powers of two with
    room for their sum). Each item line gives the bit of its category and of its brand; a transaction's
    distinct bits are summed into its masks ``m0, m1, ...`` (``SUM(DISTINCT CASE ... THEN <bit> END)``:
    one pass over the item lines; DuckDB gets it as ``BIT_OR``, scout.db.translate). Rule ``k``'s category signal holds when the
    masks share a bit with its keys; its reason names the rule's spelling of the first of its keys, in
    code-point order, whose bit is set. The same signals and labels as one ``MIN(CASE WHEN key IN (...)
    THEN key END)`` per rule and signal, for a fraction of the work: a few integer sums per transaction
    instead of two dozen text minimums, and a bit test per rule instead of a text column."""

    def __init__(self, rules: list[Rule]) -> None:
        self.position: dict[tuple[str, str], tuple[int, int]] = {}  # (signal, key) -> (mask, bit)
        self.branches: list[str] = []
        for signal, column, keys in (
            ("category", "category", _keys(tuple(v for r in rules for v in r.categories))),
            ("brand", "brand", _keys(tuple(v for r in rules for v in r.brands))),
        ):
            for start in range(0, len(keys), _MASK_BITS):
                mask, chunk = len(self.branches), keys[start : start + _MASK_BITS]
                self.position.update({(signal, key): (mask, bit) for bit, key in enumerate(chunk)})
                whens = " ".join(f"WHEN {quote(key)} THEN {_integer(1 << bit)}" for bit, key in enumerate(chunk))
                self.branches.append(f"SUM(DISTINCT CASE {key_sql(column)} {whens} END) AS m{mask}")

    def columns(self) -> str:
        """The masks, as columns of the transaction row (nothing when no rule names a category or brand)."""
        return "".join(f"bk.m{mask}, " for mask in range(len(self.branches)))

    def cte(self) -> str:
        if not self.branches:
            return ""
        return f"""bk AS (
    SELECT canonical_tx_id, {", ".join(self.branches)}
    FROM dbo.TransactionItems
    GROUP BY canonical_tx_id
),
"""

    def join(self) -> str:
        return "LEFT JOIN bk ON bk.canonical_tx_id = t.canonical_tx_id" if self.branches else ""

    def _bits(self, signal: str, values: tuple[str, ...]) -> list[tuple[str, int, int]]:
        return [(key, *self.position[signal, key]) for key in _keys(values)]

    def holds(self, signal: str, values: tuple[str, ...]) -> str:
        """1 when the transaction has an item line with one of ``values`` as its ``signal``, else 0."""
        masks: dict[int, int] = {}
        for _key, mask, bit in self._bits(signal, values):
            masks[mask] = masks.get(mask, 0) | (1 << bit)
        if not masks:
            return "0"
        return _flag(" OR ".join(f"(m{mask} & {_integer(bits)}) <> 0" for mask, bits in sorted(masks.items())))

    def label(self, signal: str, values: tuple[str, ...]) -> str:
        """The rule's spelling of the first of its keys (code-point order) the transaction's basket has."""
        if not values:  # the signal never holds: its label is never shown
            return "CAST(NULL AS NVARCHAR(100))"
        spelling: dict[str, str] = {}
        for value in sorted(values):
            spelling.setdefault(text_key(value), value)
        whens = " ".join(
            f"WHEN (m{mask} & {_integer(1 << bit)}) <> 0 THEN {quote(spelling[key])}"
            for key, mask, bit in self._bits(signal, values)
        )
        return f"CASE {whens} END"


class _Terms:
    """The transcript terms of all rules as bit masks, one bit per distinct term (include or exclude).

    Each transcript is split into its words once, and each word is looked up among the terms (a phrase
    by its first word, then confirmed with ``LIKE`` on that transcript alone): a hash join, however
    many terms the rules name, where searching the text for each term costs a scan per term. A term is
    a whole word or phrase of a transaction's words exactly when it is one of one of its transcripts
    (the words join them with two spaces, and a term never holds two spaces in a row). The bits of the
    terms found are summed, each once, into the masks ``h0, h1, ...`` (62 terms each, in code-point
    order); a rule's term signal, its first term and its veto are bit tests on them. A transaction
    without a transcript, or with no term in it, has NULL masks: no term holds."""

    def __init__(self, rules: list[Rule]) -> None:
        terms = sorted({t for r in rules for t in (*r.include_terms, *r.exclude_terms)})
        self.position = {t: (i // _MASK_BITS, i % _MASK_BITS) for i, t in enumerate(terms)}
        self.count = (len(terms) + _MASK_BITS - 1) // _MASK_BITS

    def cte(self) -> str:
        if not self.count:
            return ""
        rows = ", ".join(
            f"({quote(term.split(' ')[0])}, {quote(term)}, {mask}, {_integer(1 << bit)})"
            for term, (mask, bit) in self.position.items()
        )
        sums = ", ".join(f"SUM(CASE WHEN mask = {m} THEN term_bit END) AS h{m}" for m in range(self.count))
        return f"""th AS (
    SELECT canonical_tx_id, {sums}
    FROM (SELECT DISTINCT si.canonical_tx_id, tm.mask, tm.term_bit
          FROM (SELECT canonical_tx_id, {_normalized_words("TranscriptionText")} AS words
                FROM dbo.SalesInteractions
                WHERE TranscriptionText IS NOT NULL) AS si
          CROSS APPLY STRING_SPLIT(si.words, ' ') AS word
          JOIN (VALUES {rows}) AS tm (first_word, term, mask, term_bit) ON tm.first_word = word.value
          WHERE tm.first_word = tm.term OR CONCAT(' ', si.words, ' ') LIKE CONCAT('% ', tm.term, ' %')) AS present
    GROUP BY canonical_tx_id
),
"""

    def columns(self) -> str:
        return "".join(f"th.h{m}, " for m in range(self.count))

    def join(self) -> str:
        return "LEFT JOIN th ON th.canonical_tx_id = t.canonical_tx_id" if self.count else ""

    def any_of(self, terms: tuple[str, ...]) -> str:
        """A condition: one of ``terms`` is a whole word or phrase of the transcript."""
        masks: dict[int, int] = {}
        for term in set(terms):
            mask, bit = self.position[term]
            masks[mask] = masks.get(mask, 0) | (1 << bit)
        return "(" + " OR ".join(f"(h{m} & {_integer(bits)}) <> 0" for m, bits in sorted(masks.items())) + ")"

    def first(self, terms: tuple[str, ...]) -> str:
        """The alphabetically first of ``terms`` the transcript holds, else NULL."""
        if not terms:
            return "CAST(NULL AS NVARCHAR(200))"
        whens = " ".join(
            f"WHEN (h{self.position[t][0]} & {_integer(1 << self.position[t][1])}) <> 0 THEN {quote(t)}"
            for t in sorted(set(terms))
        )
        return f"CASE {whens} END"


#: Calibration map: per kind ("persona": keyed on the winner's score; "fallback": Regular, keyed on the best
#: score of any rule, NO_SCORE when none matched) the bands as (lower bound, confidence), ascending. The
#: first band takes every score below the second's bound. An empty map: the uncalibrated confidence.
Calibration = dict[str, list[tuple[int, float]]]
NO_SCORE = -1000000

#: The fixed split of labelled transactions: this share (in percent) of the hash values is held out.
HELD_OUT_PERCENT = 30
_SPLIT_MULTIPLIERS = (97, 89, 83, 79, 73, 71, 67, 61)
FIT, HELD_OUT = "fit", "held-out"


def split_of(tx_id: str) -> str:
    """The part a transaction id falls in (Python mirror of :func:`split_sql`): a fixed hash of the id's
    last eight characters (trailing spaces ignored, as Azure SQL's LEN does), never stored, never random."""
    text = tx_id.rstrip(" ")
    h = sum(m * ord(text[len(text) - i]) for i, m in enumerate(_SPLIT_MULTIPLIERS, start=1) if len(text) >= i)
    return HELD_OUT if h % 100 < HELD_OUT_PERCENT else FIT


def split_sql(column: str) -> str:
    """``'fit'`` or ``'held-out'`` for a transaction id column, the same on both engines."""
    length = f"LEN(RTRIM({column}))"
    terms = " + ".join(
        f"CASE WHEN {length} >= {i} THEN CAST(UNICODE(SUBSTRING({column}, {length} - {i - 1}, 1)) AS BIGINT) * {m} "
        "ELSE 0 END"
        for i, m in enumerate(_SPLIT_MULTIPLIERS, start=1)
    )
    return f"CASE WHEN ({terms}) % 100 < {HELD_OUT_PERCENT} THEN '{HELD_OUT}' ELSE '{FIT}' END"


def _banded(score: str, bands: list[tuple[int, float]]) -> str:
    """The confidence of the band ``score`` falls in (highest bound first)."""
    ordered = sorted(bands)
    whens = " ".join(f"WHEN {score} >= {int(lo)} THEN {float(c):.4f}" for lo, c in reversed(ordered[1:]))
    return f"CASE {whens} ELSE {float(ordered[0][1]):.4f} END" if whens else f"{float(ordered[0][1]):.4f}"


def confidence_sql(threshold: int, calibration: Calibration | None) -> str:
    """The stored confidence: calibrated bands when a calibration map is in force, else the raw shares."""
    calibration = calibration or {}
    persona = (
        _banded("best_eligible", calibration["persona"])
        if calibration.get("persona")
        else "ROUND(1.0 * best_eligible / total, 4)"
    )
    fallback = (
        _banded(f"COALESCE(best_any, {NO_SCORE})", calibration["fallback"])
        if calibration.get("fallback")
        else (
            "CASE WHEN best_any IS NULL OR best_any <= 0 THEN 1 "
            f"WHEN best_any >= {threshold} THEN 0 "
            f"ELSE ROUND(1.0 - 1.0 * best_any / {threshold}, 4) END"
        )
    )
    return f"CAST(CASE WHEN winner IS NOT NULL THEN {persona} ELSE {fallback} END AS DECIMAL(5, 4))"


def _label_case(rules: list[Rule]) -> str:
    return (
        "CASE ix.label_key "
        + " ".join(f"WHEN {quote(text_key(r.role_name))} THEN {quote(r.role_name)}" for r in rules)
        + f" WHEN {quote(text_key(FALLBACK_ROLE))} THEN {quote(FALLBACK_ROLE)} END"
    )


def _pipeline(
    rules: list[Rule],
    w: dict[str, int],
    *,
    pending: str,
    labelled: bool = False,
    until: str = "decided",
) -> str:
    """The CTE chain from the source rows to ``until`` (``flagged`` or ``decided``). ``labelled``: only
    transactions with a staff-observed role (a rule's role name, or Regular), that observation kept as
    ``label`` (with the ``part`` of the fixed split) and masked as a signal."""
    by_rank = sorted(rules, key=lambda r: (r.priority, r.role_name))  # tie order among equal scores

    if labelled:
        label_keys = ", ".join(
            quote(k) for k in sorted({text_key(r.role_name) for r in rules} | {text_key(FALLBACK_ROLE)})
        )
        observed = f",\n           MIN(CASE WHEN role_key IN ({label_keys}) THEN role_key END) AS label_key"
        per_rule_explicit = {r.rule_id: f"0 AS x{r.rule_id}" for r in rules}
        extra = f"{_label_case(rules)} AS label, {split_sql('t.canonical_tx_id')} AS part,\n           "
        pending = "WHERE ix.label_key IS NOT NULL"
        explicit_cte = explicit_join = ""
    else:
        # Few interactions name a rule's role: they are aggregated apart, not every interaction 12 times.
        observed = ""
        per_rule_explicit = {r.rule_id: f"COALESCE(ex.x{r.rule_id}, 0) AS x{r.rule_id}" for r in rules}
        extra = ""
        role_keys = ", ".join(quote(k) for k in sorted({text_key(r.role_name) for r in rules}))
        explicit_cte = f"""ex AS (
    SELECT canonical_tx_id,
           {", ".join(f"MAX(CASE WHEN role_key = {quote(text_key(r.role_name))} THEN 1 ELSE 0 END) AS x{r.rule_id}" for r in rules)}
    FROM (SELECT canonical_tx_id, UPPER(LTRIM(RTRIM(EmotionalState))) AS role_key FROM dbo.SalesInteractions) AS si
    WHERE role_key IN ({role_keys})
    GROUP BY canonical_tx_id
),
"""
        explicit_join = "LEFT JOIN ex ON ex.canonical_tx_id = t.canonical_tx_id"
    basket = _Basket(rules)
    per_rule = ", ".join(per_rule_explicit[r.rule_id] for r in rules)
    terms = _Terms(rules)
    vetoes = ",\n           ".join(
        (_flag(terms.any_of(r.exclude_terms)) if r.exclude_terms else "0") + f" AS v{r.rule_id}" for r in rules
    )
    flags = ",\n           ".join(
        f"{expr} AS f{r.rule_id}_{sig}" for r in rules for sig, expr in _signal_flags(r, basket, terms).items()
    )
    chain = f"""
WITH ix AS (
    SELECT canonical_tx_id, MIN(TransactionDate) AS ix_ts, MAX(Age) AS age, MAX({binary_sql("gender_key")}) AS gender{observed}
    FROM (SELECT canonical_tx_id, TransactionDate, Age, {key_sql("Gender")} AS gender_key,
                 UPPER(LTRIM(RTRIM(EmotionalState))) AS role_key
          FROM dbo.SalesInteractions) AS si
    GROUP BY canonical_tx_id
),
{explicit_cte}{basket.cte()}{terms.cte()}tx0 AS (
    SELECT t.canonical_tx_id, t.total_items, ix.age, ix.gender,
           DATEPART(hour, COALESCE(ix.ix_ts, t.txn_ts)) AS hr,
           {extra}{basket.columns()}{terms.columns()}
           {per_rule}
    FROM dbo.Transactions AS t
    LEFT JOIN ix ON ix.canonical_tx_id = t.canonical_tx_id
    {explicit_join}
    {basket.join()}
    {terms.join()}
    {pending}
),
flagged AS (
    SELECT tx0.*,
           {vetoes},
           {flags}
    FROM tx0
)"""
    if until == "flagged":
        return chain
    signals = {r.rule_id: _signals(r, basket, terms) for r in rules}
    matched = {r.rule_id: _matched(r, w, signals[r.rule_id]) for r in rules}
    scores = ",\n           ".join(
        f"{' + '.join(f'{w[sig]} * f{r.rule_id}_{sig}' for sig in signals[r.rule_id])} - {w['priority'] * r.priority} "
        f"AS s{r.rule_id}"
        + (
            ""
            if matched[r.rule_id] != f"n{r.rule_id} > 0"
            else f", {' + '.join(f'f{r.rule_id}_{sig}' for sig in signals[r.rule_id])} AS n{r.rule_id}"
        )
        for r in rules
    )
    # e<k>: the rule's score when it is eligible (a signal holds, the threshold is met, no veto unless the
    # role was observed), else NULL: the best, the sum and the winner read it without another test.
    eligible = ",\n           ".join(
        f"CASE WHEN {_eligible(r, w, matched[r.rule_id])} THEN s{r.rule_id} END AS e{r.rule_id}" for r in rules
    )
    best_eligible = "GREATEST(" + ", ".join(f"e{r.rule_id}" for r in rules) + ")"
    # the best score of any rule with a signal: only Regular's confidence reads it, only its rows get it
    best_any = "GREATEST(" + ", ".join(f"CASE WHEN {matched[r.rule_id]} THEN s{r.rule_id} END" for r in rules) + ")"
    total = " + ".join(f"COALESCE(e{r.rule_id}, 0)" for r in rules)
    winner = "CASE " + " ".join(f"WHEN e{r.rule_id} = best_eligible THEN {r.rule_id}" for r in by_rank) + " END"
    return (
        chain
        + f""",
scored AS (
    SELECT flagged.*,
           {scores}
    FROM flagged
),
judged AS (
    SELECT scored.*,
           {eligible}
    FROM scored
),
summed AS (
    SELECT judged.*, {best_eligible} AS best_eligible, {total} AS total
    FROM judged
),
decided AS (
    SELECT summed.*, {winner} AS winner,
           CASE WHEN best_eligible IS NULL THEN {best_any} END AS best_any
    FROM summed
)"""
    )


def _matched(r: Rule, w: dict[str, int], signals: list[str]) -> str:
    """A signal of rule ``r`` holds: its score ``s = Σ weight × flag − priority weight`` is above
    ``− priority weight`` when every weight of its signals is positive, else the count ``n`` of its flags
    that hold is positive."""
    if all(w[sig] > 0 for sig in signals):
        return f"s{r.rule_id} > {-w['priority'] * r.priority}"
    return f"n{r.rule_id} > 0"


def _eligible(r: Rule, w: dict[str, int], matched: str) -> str:
    """Rule ``r`` is eligible: a signal holds (``matched``), its score meets the threshold, and no exclude
    term vetoes it unless its role was observed. Tests that cannot fail are left out: with ``threshold +
    priority weight > 0`` a score at the threshold needs a signal (``s = Σ weight × flag − priority
    weight``), and a rule without exclude terms is never vetoed."""
    k = r.rule_id
    tests = [] if w["threshold"] + w["priority"] * r.priority > 0 else [matched]
    tests.append(f"s{k} >= {w['threshold']}")
    if r.exclude_terms:
        tests.append(f"(f{k}_explicit = 1 OR v{k} = 0)")
    return " AND ".join(tests)


def _role(rules: list[Rule]) -> str:
    return (
        "CASE winner "
        + " ".join(f"WHEN {r.rule_id} THEN {quote(r.role_name)}" for r in rules)
        + f" ELSE {quote(FALLBACK_ROLE)} END"
    )


def compile_inference(
    rules: list[Rule],
    weights: dict[str, int],
    checksum: str,
    *,
    full: bool,
    calibration: Calibration | None = None,
) -> str:
    """The statement that scores every transaction still to score and merges it into ref.transaction_personas.

    A MERGE, not DELETE + INSERT: rows are updated in place, so rescoring never rebuilds the key index.
    """
    if not _HEX.match(checksum):
        raise ValueError("checksum must be a sha256 hex digest")
    if not rules:
        raise ValueError("no rules to compile")
    w = {key: int(value) for key, value in weights.items()}
    pending = (
        ""
        if full
        else (
            "WHERE NOT EXISTS (SELECT 1 FROM ref.transaction_personas AS p "
            f"WHERE p.canonical_tx_id = t.canonical_tx_id AND p.rules_checksum = '{checksum}')"
        )
    )
    basket, terms = _Basket(rules), _Terms(rules)
    reasons = (
        "CASE winner " + " ".join(f"WHEN {r.rule_id} THEN {_reasons(r, w, basket, terms)}" for r in rules) + " END"
    )
    return (
        _pipeline(rules, w, pending=pending)
        + f""",
scores AS (
    SELECT canonical_tx_id,
           {_role(rules)} AS role,
           {confidence_sql(w["threshold"], calibration)} AS confidence,
           {reasons} AS reasons,
           SYSUTCDATETIME() AS scored_at
    FROM decided
)
MERGE INTO ref.transaction_personas AS p
USING scores AS s ON p.canonical_tx_id = s.canonical_tx_id
WHEN MATCHED THEN UPDATE SET role = s.role, confidence = s.confidence, reasons = s.reasons,
    rules_checksum = N'{checksum}', scored_at = s.scored_at
WHEN NOT MATCHED THEN INSERT (canonical_tx_id, role, confidence, reasons, rules_checksum, scored_at)
    VALUES (s.canonical_tx_id, s.role, s.confidence, s.reasons, N'{checksum}', s.scored_at);
"""
    )


def compile_evaluation(rules: list[Rule], weights: dict[str, int], calibration: Calibration | None = None) -> str:
    """Every transaction with a staff-observed role, scored with that observation masked: its part of the
    fixed split, the observed label, the inferred role and the confidence that would be stored. Nothing is
    written. (The counting is left to the caller: on DuckDB a GROUP BY over the role expression costs
    ten times the scoring, and these are a few thousand rows.)"""
    if not rules:
        raise ValueError("no rules to compile")
    w = {key: int(value) for key, value in weights.items()}
    return (
        _pipeline(rules, w, pending="", labelled=True)
        + f"""
SELECT canonical_tx_id, part, label, {_role(rules)} AS role, {confidence_sql(w["threshold"], calibration)} AS confidence
FROM decided
ORDER BY canonical_tx_id
"""
    )


def feature_columns(rules: list[Rule]) -> list[str]:
    """The columns of :func:`compile_features` after ``canonical_tx_id, label, part``."""
    return [f"f{r.rule_id}_{sig}" for r in rules for sig in SIGNAL_ORDER] + [f"v{r.rule_id}" for r in rules]


def compile_features(rules: list[Rule]) -> str:
    """Per transaction with a staff-observed role (masked): its label, part, and every rule's signal
    flags and veto, the 0/1 matrix the weights are fitted on (weights do not change a flag)."""
    if not rules:
        raise ValueError("no rules to compile")
    return (
        _pipeline(rules, {}, pending="", labelled=True, until="flagged")
        + f"""
SELECT canonical_tx_id, label, part, {", ".join(feature_columns(rules))}
FROM flagged
ORDER BY canonical_tx_id
"""
    )
