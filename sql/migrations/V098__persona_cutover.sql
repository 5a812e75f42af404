-- Cutover: the registry becomes the source of truth for personas; the dual-write sync stops carrying legacy
-- rows (it still reports drift). Gated (registry.lifecycle's CHECK): the latest compare must have passed,
-- unless both legacy persona tables are empty. Undo (U098) returns to dual write.
INSERT INTO registry.lifecycle (step, compare_id, legacy_rows, days_since_cutover, decided_at)
SELECT N'cutover',
       (SELECT MIN(c.compare_id) FROM registry.compare_runs AS c
        WHERE c.passed = 1 AND c.finished_at = (SELECT MAX(l.finished_at) FROM registry.compare_runs AS l)),
       (SELECT COUNT(*) FROM legacy.dh_personas) + (SELECT COUNT(*) FROM legacy.org_personas),
       NULL,
       SYSUTCDATETIME();
