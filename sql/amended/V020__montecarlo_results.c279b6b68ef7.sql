-- Monte Carlo scenario runs and the results the dashboard reads (schema results).
CREATE SCHEMA results;
GO
-- One row per run: the scenario, the fitted model, how it is split, its progress and its results.
CREATE TABLE results.montecarlo_runs (
    run_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    session_id NVARCHAR(64) NULL,
    scenario NVARCHAR(MAX) NOT NULL,
    model NVARCHAR(MAX) NOT NULL,
    iterations INT NOT NULL,
    horizon_days INT NOT NULL,
    seed_entropy NVARCHAR(80) NOT NULL,
    chunk_size INT NOT NULL,
    batches INT NOT NULL,
    batches_done INT NOT NULL,
    status NVARCHAR(20) NOT NULL,
    stage NVARCHAR(200) NULL,
    error NVARCHAR(MAX) NULL,
    results NVARCHAR(MAX) NULL,
    created_at DATETIME2 NOT NULL,
    updated_at DATETIME2 NOT NULL
);
-- Per-batch partial results: per-iteration totals (float64, little-endian) so percentiles are exact.
CREATE TABLE results.montecarlo_partials (
    run_id NVARCHAR(36) NOT NULL,
    batch INT NOT NULL,
    revenue VARBINARY(MAX) NOT NULL,
    units VARBINARY(MAX) NOT NULL,
    daily VARBINARY(MAX) NULL,
    created_at DATETIME2 NOT NULL,
    PRIMARY KEY (run_id, batch)
);
-- Standing scenarios the nightly timer refreshes (besides SCOUT_MONTECARLO_STANDING_SCENARIOS).
CREATE TABLE results.scenarios (
    name NVARCHAR(100) NOT NULL PRIMARY KEY,
    definition NVARCHAR(MAX) NOT NULL,
    is_active BIT NOT NULL DEFAULT 1
);
-- Data-driven results sessions the dashboard polls: state and the computed segments.
CREATE TABLE results.generation_status (
    session_id NVARCHAR(64) NOT NULL PRIMARY KEY,
    topic NVARCHAR(200) NOT NULL,
    state NVARCHAR(20) NOT NULL,
    percent INT NOT NULL,
    stage NVARCHAR(200) NULL,
    run_id NVARCHAR(36) NULL,
    error NVARCHAR(MAX) NULL,
    updated_at DATETIME2 NOT NULL
);
CREATE TABLE results.segment_results (
    session_id NVARCHAR(64) NOT NULL,
    segment NVARCHAR(20) NOT NULL,
    payload NVARCHAR(MAX) NOT NULL,
    computed_at DATETIME2 NOT NULL,
    PRIMARY KEY (session_id, segment)
);
