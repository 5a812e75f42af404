-- Rollback of the registry: the legacy tables, never written by it, stay the only truth, unchanged.
DROP TABLE registry.persona_rule_links;
DROP TABLE registry.compare_runs;
DROP TABLE registry.json_forms;
DROP TABLE registry.persona_invalid_json;
DROP TABLE registry.persona_conflicts;
DROP TABLE registry.persona_role_mapping;
DROP TABLE registry.persona_industry_mapping;
DROP TABLE registry.personas;
DROP TABLE registry.roles;
DROP TABLE registry.industries;
GO
DROP SCHEMA registry;
