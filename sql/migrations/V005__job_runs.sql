-- History of every job run (any trigger or the CLI); run ids are UUIDs made by the app.
CREATE TABLE ops.job_runs (
    run_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    job NVARCHAR(100) NOT NULL,
    trigger_type NVARCHAR(20) NOT NULL,
    started_at DATETIME2 NOT NULL,
    finished_at DATETIME2 NULL,
    status NVARCHAR(20) NOT NULL,
    summary NVARCHAR(MAX) NULL,
    error NVARCHAR(MAX) NULL
);
GO
CREATE INDEX ix_job_runs_job_started ON ops.job_runs (job, started_at);
