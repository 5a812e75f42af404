-- Factors F1-F28 and patterns P001-P041 of results sessions (issue 12): the catalogues as data, and what
-- each generation computed from them. The catalogues are seeded by V051 and V052.
-- factor_definitions: one row per factor; ci_method is wilson, newcombe or bootstrap_bca; min_n is the
-- smallest n (what n counts: n_counts) for which a value is reported, below it the status is
-- insufficient_data; results_segment is the dashboard segment that shows the factor.
CREATE TABLE results.factor_definitions (
    factor_id NVARCHAR(4) NOT NULL PRIMARY KEY,
    factor_name NVARCHAR(100) NOT NULL,
    formula NVARCHAR(400) NOT NULL,
    ci_method NVARCHAR(20) NOT NULL,
    min_n INT NOT NULL,
    n_counts NVARCHAR(100) NOT NULL,
    results_segment NVARCHAR(20) NOT NULL
);
-- pattern_rules: one row per pattern; rule_condition is an expression over factors and their interval
-- bounds (scout/results/patterns.py), applies_to the '|'-separated segment keys it applies to (NULL: all).
-- The active rules are fingerprinted: stored matches made under other rules are re-evaluated.
CREATE TABLE results.pattern_rules (
    pattern_id NVARCHAR(4) NOT NULL PRIMARY KEY,
    pattern_name NVARCHAR(100) NOT NULL,
    rule_condition NVARCHAR(1000) NOT NULL,
    applies_to NVARCHAR(100) NULL,
    results_segment NVARCHAR(20) NOT NULL,
    explanation NVARCHAR(1000) NOT NULL,
    recommended_action NVARCHAR(1000) NOT NULL,
    is_active BIT NOT NULL DEFAULT 1,
    created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME()
);
-- computed_factors: the factors a session's generation computed, of its topic (subject 'segment') and of
-- the topic's parent (subject 'parent'); factor_value and the interval are NULL when status is
-- insufficient_data; shrunk_value is the empirical-Bayes value shrunk toward the parent.
CREATE TABLE results.computed_factors (
    session_id NVARCHAR(64) NOT NULL,
    generation NVARCHAR(36) NOT NULL,
    subject NVARCHAR(10) NOT NULL,
    factor_id NVARCHAR(4) NOT NULL,
    topic NVARCHAR(200) NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    factor_value DECIMAL(38, 10) NULL,
    shrunk_value DECIMAL(38, 10) NULL,
    n INT NOT NULL,
    ci_low DECIMAL(38, 10) NULL,
    ci_high DECIMAL(38, 10) NULL,
    ci_method NVARCHAR(20) NOT NULL,
    status NVARCHAR(20) NOT NULL,
    note NVARCHAR(200) NULL,
    computed_at DATETIME2 NOT NULL,
    PRIMARY KEY (session_id, generation, subject, factor_id)
);
-- pattern_matches: every active rule evaluated for a generation (status fired, not_fired,
-- insufficient_data or not_applicable), with the factors it used (evidence, JSON) and the checksum of the
-- rules it was evaluated under.
CREATE TABLE results.pattern_matches (
    session_id NVARCHAR(64) NOT NULL,
    generation NVARCHAR(36) NOT NULL,
    pattern_id NVARCHAR(4) NOT NULL,
    fired BIT NOT NULL,
    status NVARCHAR(20) NOT NULL,
    evidence NVARCHAR(MAX) NOT NULL,
    rules_checksum NVARCHAR(64) NOT NULL,
    evaluated_at DATETIME2 NOT NULL,
    PRIMARY KEY (session_id, generation, pattern_id)
);
-- segment_rich_content: the Product, Brand and Experience text of a generation (JSON: headline,
-- paragraphs, the patterns and factors it cites), built by templates from its factors and patterns.
CREATE TABLE results.segment_rich_content (
    session_id NVARCHAR(64) NOT NULL,
    generation NVARCHAR(36) NOT NULL,
    segment NVARCHAR(20) NOT NULL,
    content NVARCHAR(MAX) NOT NULL,
    rules_checksum NVARCHAR(64) NOT NULL,
    computed_at DATETIME2 NOT NULL,
    PRIMARY KEY (session_id, generation, segment)
);
