-- Embedded default only: production's legacy persona tables were baselined, never created by V040, and a
-- registry rollback stops at version 40 (scout migrate undo --target 40), so this never runs there.
DROP TABLE legacy.org_personas;
DROP TABLE legacy.dh_personas;
DROP TABLE legacy.org_roles;
DROP TABLE legacy.org_functions;
DROP TABLE legacy.org_departments;
DROP TABLE legacy.industries;
