-- Weights of the persona signals, kept as data (the original weights as defaults). "threshold" is
-- the score a rule must reach to beat the fallback role Regular.
CREATE TABLE ref.persona_weights (
    signal NVARCHAR(40) NOT NULL PRIMARY KEY,
    weight INT NOT NULL,
    notes NVARCHAR(200) NULL
);
INSERT INTO ref.persona_weights (signal, weight, notes) VALUES
    (N'explicit', 1000, N'EmotionalState names the persona (observed by staff)'),
    (N'term', 100, N'an include term in a transcript (whole word or phrase)'),
    (N'category', 50, N'a must-have category anywhere in the basket'),
    (N'brand', 50, N'a must-have brand anywhere in the basket'),
    (N'age', 40, N'age within min_age..max_age'),
    (N'hour', 30, N'hour within hour_min..hour_max (wraps past midnight)'),
    (N'daypart', 25, N'daypart in daypart_in'),
    (N'gender', 20, N'gender in gender_in'),
    (N'items', 15, N'basket size at least min_items'),
    (N'priority', 2, N'subtracted per priority point (lower priority is stronger)'),
    (N'threshold', 150, N'score a rule must reach, else the role is Regular');
GO
-- One inferred persona per transaction: role, confidence (0-1), the signals that decided it, and
-- the checksum of the rules it was scored under (a changed rule re-scores on the next run).
CREATE TABLE ref.transaction_personas (
    canonical_tx_id NVARCHAR(64) NOT NULL PRIMARY KEY,
    role NVARCHAR(100) NOT NULL,
    confidence DECIMAL(5, 4) NOT NULL,
    reasons NVARCHAR(400) NULL,
    rules_checksum NVARCHAR(64) NOT NULL,
    scored_at DATETIME2 NOT NULL
);
