-- The persona registry: one `personas` table (core columns, the flexible attributes as JSON text, tenant,
-- public flag, audit columns, soft delete) with its industry and role mappings, built from
-- legacy.dh_personas and legacy.org_personas by `scout personas consolidate` (scout/registry/).
-- Legacy ids are kept (dh_legacy_id, org_legacy_id, industry and role ids); JSON columns hold canonical
-- JSON (sorted keys, no whitespace); a CHECK (ISJSON(...) = 1) on each refuses anything else, on both engines.
CREATE SCHEMA registry;
GO
-- Industries and roles: the legacy ids as they are, plus Scout's own (ids from 1,000,000: origin 'scout').
-- An id a legacy persona points at that legacy.industries / legacy.org_roles lacks gets origin 'dangling'.
CREATE TABLE registry.industries (
    industry_id INT NOT NULL PRIMARY KEY,
    code NVARCHAR(50) NOT NULL,
    name NVARCHAR(100) NOT NULL,
    origin NVARCHAR(20) NOT NULL
);
CREATE TABLE registry.roles (
    role_id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    department_id INT NULL,
    function_id INT NULL,
    origin NVARCHAR(20) NOT NULL
);
-- JSON columns hold valid JSON or NULL (CHECK ISJSON: Azure SQL's own test; DuckDB's json_valid).
CREATE TABLE registry.personas (
    persona_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    unique_id NVARCHAR(64) NOT NULL UNIQUE,
    name NVARCHAR(200) NULL,
    title NVARCHAR(200) NULL,
    description NVARCHAR(2000) NULL,
    seniority_level NVARCHAR(50) NULL,
    decision_authority NVARCHAR(50) NULL,
    persona_type NVARCHAR(50) NULL,
    department_id INT NULL,
    function_id INT NULL,
    profile NVARCHAR(MAX) NULL CHECK (ISJSON(profile) = 1),
    responsibilities NVARCHAR(MAX) NULL CHECK (ISJSON(responsibilities) = 1),
    pain_points NVARCHAR(MAX) NULL CHECK (ISJSON(pain_points) = 1),
    goals NVARCHAR(MAX) NULL CHECK (ISJSON(goals) = 1),
    tenant_id NVARCHAR(64) NULL,
    is_public BIT NULL,
    dh_legacy_id INT NULL,
    org_legacy_id INT NULL,
    created_at DATETIME2 NULL,
    updated_at DATETIME2 NULL,
    created_by NVARCHAR(100) NULL,
    updated_by NVARCHAR(100) NULL,
    deleted_at DATETIME2 NULL,
    registry_source NVARCHAR(20) NOT NULL,
    registry_updated_at DATETIME2 NOT NULL
);
-- No index on the legacy ids: DuckDB (the embedded default) runs an UPDATE of an indexed column as a delete
-- and an insert, which a row the mappings reference refuses; compare reads them in one scan anyway.
-- metadata: {"sources":["dh.industry_id","dh.pharma_id",...]} names the legacy columns the row carries.
CREATE TABLE registry.persona_industry_mapping (
    persona_id NVARCHAR(36) NOT NULL REFERENCES registry.personas (persona_id),
    industry_id INT NOT NULL REFERENCES registry.industries (industry_id),
    is_primary BIT NOT NULL,
    industry_specific_id NVARCHAR(50) NULL,
    metadata NVARCHAR(MAX) NULL CHECK (ISJSON(metadata) = 1),
    PRIMARY KEY (persona_id, industry_id)
);
CREATE TABLE registry.persona_role_mapping (
    persona_id NVARCHAR(36) NOT NULL REFERENCES registry.personas (persona_id),
    role_id INT NOT NULL REFERENCES registry.roles (role_id),
    is_primary BIT NOT NULL,
    responsibilities NVARCHAR(MAX) NULL CHECK (ISJSON(responsibilities) = 1),
    metadata NVARCHAR(MAX) NULL CHECK (ISJSON(metadata) = 1),
    PRIMARY KEY (persona_id, role_id)
);
-- Every disagreement between the two sources for one persona and column: both values as text (NULL and
-- '' kept apart), which source won and by which rule. The losing value lives here, never lost.
CREATE TABLE registry.persona_conflicts (
    unique_id NVARCHAR(64) NOT NULL,
    column_name NVARCHAR(64) NOT NULL,
    dh_value NVARCHAR(2000) NULL,
    org_value NVARCHAR(2000) NULL,
    chosen_source NVARCHAR(10) NOT NULL,
    precedence_rule NVARCHAR(200) NOT NULL,
    detected_at DATETIME2 NOT NULL,
    PRIMARY KEY (unique_id, column_name)
);
-- A legacy JSON column whose text is not valid JSON: the text verbatim (the persona's column is NULL).
CREATE TABLE registry.persona_invalid_json (
    persona_id NVARCHAR(36) NOT NULL REFERENCES registry.personas (persona_id),
    column_name NVARCHAR(64) NOT NULL,
    raw_text NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (persona_id, column_name)
);
-- Every legacy JSON text seen, with its canonical form (NULL: not valid JSON). Compare reads legacy JSON
-- through it, so JSON is compared in canonical form inside the database.
CREATE TABLE registry.json_forms (
    raw_sha256 NVARCHAR(64) NOT NULL PRIMARY KEY,
    raw_text NVARCHAR(MAX) NOT NULL,
    canonical NVARCHAR(MAX) NULL CHECK (ISJSON(canonical) = 1)
);
-- One row per `scout personas compare`: whether old and new agreed (passed only at 100%).
CREATE TABLE registry.compare_runs (
    compare_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    started_at DATETIME2 NOT NULL,
    finished_at DATETIME2 NOT NULL,
    passed BIT NOT NULL,
    personas_old INT NOT NULL,
    personas_new INT NOT NULL,
    differing_values INT NOT NULL,
    summary NVARCHAR(MAX) NOT NULL
);
GO
-- Scout's 12 shopper personas live in the same registry (industry: retail), and ref.persona_rules refers
-- to them through registry.persona_rule_links (one persona per rule; the rules table itself is unchanged).
-- rule_id names ref.persona_rules.rule_id without a declared foreign key: DuckDB (the embedded default)
-- supports none across schemas; tests/test_registry.py checks every active rule has its persona.
-- Their ids are uuid5(NAMESPACE_URL, 'scout:shopper:<role>'); Scout's own industry ids start at 1,000,000.
INSERT INTO registry.industries (industry_id, code, name, origin) VALUES
    (1000001, N'retail', N'Retail (sari-sari stores)', N'scout');
INSERT INTO registry.personas (persona_id, unique_id, name, persona_type, tenant_id, is_public, registry_source, registry_updated_at) VALUES
    (N'f77aad05-f86e-5a4b-bd33-277c417b8cec', N'scout-shopper-student', N'Student', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'fa60681d-c556-51b8-8a6c-2d154effd2ab', N'scout-shopper-office-worker', N'Office Worker', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'4afc54da-3bbb-566a-98b9-dda7c7a2796a', N'scout-shopper-delivery-rider', N'Delivery Rider', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'5a8ccd1e-8031-53f9-babc-52340929f81d', N'scout-shopper-parent', N'Parent', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'52215773-a189-55c0-9f85-01dafcb45905', N'scout-shopper-senior-citizen', N'Senior Citizen', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'e21e552d-a21c-5326-8f25-0737db5d1efa', N'scout-shopper-blue-collar-worker', N'Blue-Collar Worker', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'25a4b58e-3d65-58b0-a006-05e61c33e6ea', N'scout-shopper-reseller', N'Reseller', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'e73c907f-4401-571e-8ba8-ab0c7bcd2e68', N'scout-shopper-teen-gamer', N'Teen Gamer', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'2eb0f0f8-fec2-516f-a496-8b63bb50cdf6', N'scout-shopper-night-shift-worker', N'Night-Shift Worker', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'08f2c496-0797-53a8-8f24-a984e99e2b1b', N'scout-shopper-health-conscious', N'Health-Conscious', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'c57488ff-2792-5b57-8e72-e1de9ac69abb', N'scout-shopper-party-buyer', N'Party Buyer', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME()),
    (N'b681bef1-08e1-5f45-93e7-4b1dc871d6df', N'scout-shopper-farmer', N'Farmer', N'shopper', N'scout', 1, N'scout', SYSUTCDATETIME());
INSERT INTO registry.persona_industry_mapping (persona_id, industry_id, is_primary, industry_specific_id, metadata) VALUES
    (N'f77aad05-f86e-5a4b-bd33-277c417b8cec', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'fa60681d-c556-51b8-8a6c-2d154effd2ab', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'4afc54da-3bbb-566a-98b9-dda7c7a2796a', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'5a8ccd1e-8031-53f9-babc-52340929f81d', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'52215773-a189-55c0-9f85-01dafcb45905', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'e21e552d-a21c-5326-8f25-0737db5d1efa', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'25a4b58e-3d65-58b0-a006-05e61c33e6ea', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'e73c907f-4401-571e-8ba8-ab0c7bcd2e68', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'2eb0f0f8-fec2-516f-a496-8b63bb50cdf6', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'08f2c496-0797-53a8-8f24-a984e99e2b1b', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'c57488ff-2792-5b57-8e72-e1de9ac69abb', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}'),
    (N'b681bef1-08e1-5f45-93e7-4b1dc871d6df', 1000001, 1, NULL, N'{"sources":["ref.persona_rules"]}');
CREATE TABLE registry.persona_rule_links (
    rule_id INT NOT NULL PRIMARY KEY,
    persona_id NVARCHAR(36) NOT NULL UNIQUE,
    FOREIGN KEY (persona_id) REFERENCES registry.personas (persona_id)
);
INSERT INTO registry.persona_rule_links (rule_id, persona_id) VALUES
    (1, N'f77aad05-f86e-5a4b-bd33-277c417b8cec'),
    (2, N'fa60681d-c556-51b8-8a6c-2d154effd2ab'),
    (3, N'4afc54da-3bbb-566a-98b9-dda7c7a2796a'),
    (4, N'5a8ccd1e-8031-53f9-babc-52340929f81d'),
    (5, N'52215773-a189-55c0-9f85-01dafcb45905'),
    (6, N'e21e552d-a21c-5326-8f25-0737db5d1efa'),
    (7, N'25a4b58e-3d65-58b0-a006-05e61c33e6ea'),
    (8, N'e73c907f-4401-571e-8ba8-ab0c7bcd2e68'),
    (9, N'2eb0f0f8-fec2-516f-a496-8b63bb50cdf6'),
    (10, N'08f2c496-0797-53a8-8f24-a984e99e2b1b'),
    (11, N'c57488ff-2792-5b57-8e72-e1de9ac69abb'),
    (12, N'b681bef1-08e1-5f45-93e7-4b1dc871d6df');
