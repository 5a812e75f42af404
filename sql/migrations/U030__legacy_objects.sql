-- Embedded default only: production's legacy objects were baselined, never created by V030, and a full
-- medallion rollback stops at version 30 (scout migrate undo --target 30), so this never runs there.
DROP TABLE legacy.transactions;
DROP TABLE legacy.organization;
DROP TABLE legacy.geography;
GO
DROP SCHEMA legacy;
