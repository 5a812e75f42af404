-- The medallion's own bookkeeping, in ops: the backfill checkpoint of each entity (committed with each
-- batch, so a killed backfill resumes after its last committed batch), the medallion log (one row per
-- step run: backfill, verify, contract, rollback, refresh) and its switches (contracted, refresh on/off).
CREATE TABLE ops.medallion_checkpoints (
    entity NVARCHAR(40) NOT NULL PRIMARY KEY,
    last_id BIGINT NOT NULL,
    copied BIGINT NOT NULL,
    orphans BIGINT NOT NULL,
    batches INT NOT NULL,
    updated_at DATETIME2 NOT NULL,
    completed_at DATETIME2 NULL
);
CREATE TABLE ops.medallion_log (
    log_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    step NVARCHAR(40) NOT NULL,
    run_id NVARCHAR(36) NULL,
    logged_at DATETIME2 NOT NULL,
    passed BIT NULL,
    details NVARCHAR(MAX) NULL
);
CREATE TABLE ops.medallion_switches (
    switch_name NVARCHAR(40) NOT NULL PRIMARY KEY,
    is_on BIT NOT NULL,
    changed_at DATETIME2 NOT NULL,
    changed_by NVARCHAR(200) NULL
);
GO
CREATE INDEX ix_medallion_log_step ON ops.medallion_log (step, logged_at);
GO
INSERT INTO ops.medallion_switches (switch_name, is_on, changed_at, changed_by)
VALUES (N'contracted', 0, SYSUTCDATETIME(), N'V032'), (N'refresh', 1, SYSUTCDATETIME(), N'V032');
