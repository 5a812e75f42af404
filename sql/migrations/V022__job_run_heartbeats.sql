-- Leases on job runs: a running job beats while it works and records the last stage it reached, so a run
-- whose heartbeat is older than SCOUT_RUN_LEASE_SECONDS is reported abandoned (its process died) with that
-- stage, and the next run of the same job fails it cleanly. A table of its own, one row per run that beat
-- (ops.job_runs is indexed, and an indexed table's columns cannot be dropped again by an undo on DuckDB).
CREATE TABLE ops.job_run_heartbeats (
    run_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    -- heartbeat_at: the run's last sign of life (UTC); until its first beat, ops.job_runs.started_at counts.
    heartbeat_at DATETIME2 NOT NULL,
    -- stage: the last progress the run reported (what it was doing when it stopped beating, if it died).
    stage NVARCHAR(200) NULL
);
