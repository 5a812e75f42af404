-- Deprecation of legacy.dh_personas and legacy.org_personas, 30 days after cutover. Gated
-- (registry.lifecycle's CHECK): the latest compare must have passed and cutover be 30 days old, unless
-- both legacy tables are empty. Nothing is dropped or written in legacy: the tables are recorded as
-- deprecated (the sync stops even reporting), and removing them is a DBA's later, separate decision.
INSERT INTO registry.lifecycle (step, compare_id, legacy_rows, days_since_cutover, decided_at)
SELECT N'deprecation',
       (SELECT MIN(c.compare_id) FROM registry.compare_runs AS c
        WHERE c.passed = 1 AND c.finished_at = (SELECT MAX(l.finished_at) FROM registry.compare_runs AS l)),
       (SELECT COUNT(*) FROM legacy.dh_personas) + (SELECT COUNT(*) FROM legacy.org_personas),
       (SELECT DATEDIFF(day, MIN(decided_at), SYSUTCDATETIME()) FROM registry.lifecycle WHERE step = N'cutover'),
       SYSUTCDATETIME();
