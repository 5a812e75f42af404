-- Persona targeting: people from the campaign tool's sources (companies, persons, engagements), matched to
-- registry personas by rules kept as data (scout/targeting/), the targets that matching writes, campaign
-- strategies with their relevance per persona, and campaigns. Key types match exactly what they
-- reference: persons.person_id is INT, so targets.person_id is INT (a BIGINT there once broke the tool;
-- the schema lint refuses it, Msg 1778 on SQL Server). Everything lives in schema registry: DuckDB, the
-- embedded default, declares no foreign key across schemas.
CREATE TABLE registry.companies (
    company_id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    industry_id INT NULL,
    employee_count INT NULL,
    domain_name NVARCHAR(200) NULL
);
CREATE TABLE registry.persons (
    person_id INT NOT NULL PRIMARY KEY,
    full_name NVARCHAR(200) NOT NULL,
    title NVARCHAR(300) NULL,
    company_id INT NULL REFERENCES registry.companies (company_id),
    created_at DATETIME2 NOT NULL
);
CREATE TABLE registry.campaign_strategies (
    strategy_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    name NVARCHAR(200) NOT NULL UNIQUE,
    channel NVARCHAR(50) NOT NULL,
    content_themes NVARCHAR(MAX) NULL,
    posting_frequency NVARCHAR(50) NULL,
    success_metrics NVARCHAR(MAX) NULL,
    budget_min_usd DECIMAL(18, 2) NULL,
    budget_max_usd DECIMAL(18, 2) NULL,
    is_active BIT NOT NULL DEFAULT 1
);
-- Relevance of a strategy for a persona (0-1). Authored data like the matching rules: it names the persona
-- by unique_id (no foreign key, so it can be written before the persona is consolidated; recommendations
-- join the registry and report names it does not know).
CREATE TABLE registry.persona_strategies (
    persona_unique_id NVARCHAR(64) NOT NULL,
    strategy_id NVARCHAR(36) NOT NULL REFERENCES registry.campaign_strategies (strategy_id),
    relevance_score DECIMAL(5, 4) NOT NULL,
    rationale NVARCHAR(400) NULL,
    PRIMARY KEY (persona_unique_id, strategy_id)
);
CREATE TABLE registry.campaigns (
    campaign_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    strategy_id NVARCHAR(36) NULL REFERENCES registry.campaign_strategies (strategy_id),
    persona_unique_id NVARCHAR(64) NULL,
    started_at DATETIME2 NOT NULL,
    budget_usd DECIMAL(18, 2) NULL
);
CREATE TABLE registry.engagements (
    engagement_id BIGINT NOT NULL PRIMARY KEY,
    person_id INT NOT NULL REFERENCES registry.persons (person_id),
    campaign_id NVARCHAR(36) NULL REFERENCES registry.campaigns (campaign_id),
    kind NVARCHAR(30) NOT NULL,
    occurred_at DATETIME2 NOT NULL
);
GO
CREATE INDEX ix_engagements_person ON registry.engagements (person_id, occurred_at);
GO
-- Matching rules kept as data, one per persona (by its unique_id): title terms ('|'-separated, matched as
-- whole words, case-insensitive), the company's industry and size, how many engagements within how many
-- days. Lower priority is stronger (ties). Weights and the threshold in registry.match_weights. Like the
-- relevance scores, a rule names its persona by unique_id (authored data; match skips unknown names).
CREATE TABLE registry.persona_match_rules (
    rule_id INT NOT NULL PRIMARY KEY,
    persona_unique_id NVARCHAR(64) NOT NULL,
    title_terms NVARCHAR(1000) NULL,
    industry_id INT NULL,
    min_employees INT NULL,
    max_employees INT NULL,
    min_engagements INT NULL,
    recency_days INT NULL,
    priority INT NOT NULL,
    is_active BIT NOT NULL DEFAULT 1
);
CREATE TABLE registry.match_weights (
    signal NVARCHAR(40) NOT NULL PRIMARY KEY,
    weight INT NOT NULL,
    notes NVARCHAR(200) NULL
);
INSERT INTO registry.match_weights (signal, weight, notes) VALUES
    (N'title', 100, N'a title term as a whole word or phrase'),
    (N'industry', 40, N'the company is in the rule''s industry'),
    (N'size', 20, N'the company''s employees within min_employees..max_employees'),
    (N'engagements', 25, N'at least min_engagements engagements within recency_days'),
    (N'recency', 15, N'an engagement within recency_days'),
    (N'priority', 2, N'subtracted per priority point (lower priority is stronger)'),
    (N'threshold', 100, N'score a rule must reach to make the person a target');
-- One target per person: the persona it matched best, with score, confidence and the reasons.
CREATE TABLE registry.targets (
    person_id INT NOT NULL PRIMARY KEY REFERENCES registry.persons (person_id),
    persona_id NVARCHAR(36) NOT NULL REFERENCES registry.personas (persona_id),
    rule_id INT NOT NULL,
    score INT NOT NULL,
    confidence DECIMAL(5, 4) NOT NULL,
    reasons NVARCHAR(400) NOT NULL,
    rules_checksum NVARCHAR(64) NOT NULL,
    as_of DATETIME2 NOT NULL,
    matched_at DATETIME2 NOT NULL
);
-- Connectors of the campaign tool (LinkedIn, scraping): the NAME of the Key Vault secret that holds the
-- API key or cookie, never the value (the old tool kept both in a table and a JSON file).
CREATE TABLE registry.connectors (
    connector_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    kind NVARCHAR(50) NOT NULL,
    display_name NVARCHAR(200) NOT NULL,
    secret_name NVARCHAR(127) NOT NULL,
    calls_per_day INT NULL,
    is_active BIT NOT NULL DEFAULT 1
);
GO
-- Campaign performance by persona: targets, campaigns, engaged people and engagements of each persona.
CREATE VIEW registry.v_campaign_performance_by_persona AS
SELECT p.persona_id, p.unique_id, p.name,
       COALESCE(t.targets, 0) AS targets,
       COALESCE(c.campaigns, 0) AS campaigns,
       COALESCE(e.engaged_people, 0) AS engaged_people,
       COALESCE(e.engagements, 0) AS engagements,
       CAST(CASE WHEN COALESCE(t.targets, 0) = 0 THEN 0
                 ELSE 1.0 * COALESCE(e.engaged_people, 0) / t.targets END AS DECIMAL(9, 4)) AS engagement_rate
FROM registry.personas AS p
LEFT JOIN (SELECT persona_id, COUNT(*) AS targets FROM registry.targets GROUP BY persona_id) AS t
    ON t.persona_id = p.persona_id
LEFT JOIN (SELECT persona_unique_id, COUNT(*) AS campaigns FROM registry.campaigns GROUP BY persona_unique_id) AS c
    ON c.persona_unique_id = p.unique_id
LEFT JOIN (SELECT tg.persona_id, COUNT(DISTINCT en.person_id) AS engaged_people, COUNT(*) AS engagements
           FROM registry.engagements AS en JOIN registry.targets AS tg ON tg.person_id = en.person_id
           GROUP BY tg.persona_id) AS e
    ON e.persona_id = p.persona_id
WHERE p.deleted_at IS NULL;
GO
-- Strategy performance: campaigns and engagements per strategy, with its mean relevance over personas.
CREATE VIEW registry.v_campaign_strategy_performance AS
SELECT s.strategy_id, s.name, s.channel,
       (SELECT COUNT(*) FROM registry.campaigns AS c WHERE c.strategy_id = s.strategy_id) AS campaigns,
       (SELECT COUNT(*) FROM registry.engagements AS en JOIN registry.campaigns AS c ON c.campaign_id = en.campaign_id
        WHERE c.strategy_id = s.strategy_id) AS engagements,
       (SELECT AVG(ps.relevance_score) FROM registry.persona_strategies AS ps WHERE ps.strategy_id = s.strategy_id)
           AS mean_relevance
FROM registry.campaign_strategies AS s;
