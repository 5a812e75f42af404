-- Cutover and deprecation of the legacy persona tables are migrations (V098, V099), gated on a passing
-- compare. Each writes one row here; the CHECK constraint is the gate: a step on legacy tables that hold
-- rows needs the latest compare to have passed (compare_id), and deprecation also 30 days since cutover.
-- A migration whose gate does not hold fails on that constraint, is rolled back and recorded as failed,
-- and runs again on the next `scout migrate apply`. On empty legacy tables (a new installation: nothing
-- to migrate) the step is recorded as vacuous (legacy_rows = 0) and the dual-write sync still carries any
-- legacy rows that appear later; after a real cutover it only reports drift.
CREATE TABLE registry.lifecycle (
    step NVARCHAR(20) NOT NULL PRIMARY KEY,
    compare_id NVARCHAR(36) NULL REFERENCES registry.compare_runs (compare_id),
    legacy_rows INT NOT NULL,
    days_since_cutover INT NULL,
    decided_at DATETIME2 NOT NULL,
    CONSTRAINT ck_lifecycle_step CHECK (step IN (N'cutover', N'deprecation')),
    CONSTRAINT ck_lifecycle_gate_needs_a_passing_compare CHECK (
        legacy_rows = 0 OR (compare_id IS NOT NULL AND (step = N'cutover' OR days_since_cutover >= 30))
    )
);
