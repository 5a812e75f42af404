-- The two legacy persona tables and the reference tables they point at, as production has them (no
-- foreign keys: the legacy platform never declared any). Production already holds these objects: run
--   scout migrate apply --target 39
--   scout migrate baseline --version 40
-- there once, so this file is recorded as present and never executed. The embedded default creates them
-- (empty; `scout demo seed --personas` fills them). Scout Jobs never writes to these tables: the registry
-- (V041) is built from them, and undoing the registry leaves them exactly as they were.
CREATE TABLE legacy.industries (
    id INT NOT NULL PRIMARY KEY,
    code NVARCHAR(50) NOT NULL,
    name NVARCHAR(100) NOT NULL
);
CREATE TABLE legacy.org_departments (
    id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(100) NOT NULL
);
CREATE TABLE legacy.org_functions (
    id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(100) NOT NULL
);
CREATE TABLE legacy.org_roles (
    id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    department_id INT NULL,
    function_id INT NULL
);
-- 59 columns. responsibilities, pain_points and goals hold JSON text, not always valid JSON.
CREATE TABLE legacy.dh_personas (
    id INT NOT NULL PRIMARY KEY,
    unique_id NVARCHAR(64) NOT NULL,
    name NVARCHAR(200) NULL,
    title NVARCHAR(200) NULL,
    description NVARCHAR(2000) NULL,
    industry_id INT NULL,
    primary_role_id INT NULL,
    pharma_id NVARCHAR(50) NULL,
    digital_health_id NVARCHAR(50) NULL,
    biotech_id NVARCHAR(50) NULL,
    seniority_level NVARCHAR(50) NULL,
    decision_authority NVARCHAR(50) NULL,
    responsibilities NVARCHAR(MAX) NULL,
    pain_points NVARCHAR(MAX) NULL,
    goals NVARCHAR(MAX) NULL,
    persona_type NVARCHAR(50) NULL,
    tenant_id NVARCHAR(64) NULL,
    is_public BIT NULL,
    created_at DATETIME2 NULL,
    updated_at DATETIME2 NULL,
    created_by NVARCHAR(100) NULL,
    updated_by NVARCHAR(100) NULL,
    deleted_at DATETIME2 NULL,
    age_range NVARCHAR(20) NULL,
    education_level NVARCHAR(100) NULL,
    years_experience INT NULL,
    company_size NVARCHAR(50) NULL,
    team_size INT NULL,
    reports_to NVARCHAR(200) NULL,
    budget_authority NVARCHAR(50) NULL,
    annual_budget_usd DECIMAL(18, 2) NULL,
    geography NVARCHAR(100) NULL,
    work_setting NVARCHAR(50) NULL,
    buying_role NVARCHAR(50) NULL,
    buying_stage NVARCHAR(50) NULL,
    motivations NVARCHAR(1000) NULL,
    objections NVARCHAR(1000) NULL,
    preferred_channels NVARCHAR(500) NULL,
    content_preferences NVARCHAR(500) NULL,
    communication_style NVARCHAR(200) NULL,
    tools_used NVARCHAR(500) NULL,
    kpis NVARCHAR(500) NULL,
    success_metrics NVARCHAR(500) NULL,
    information_sources NVARCHAR(500) NULL,
    regulatory_exposure NVARCHAR(200) NULL,
    therapeutic_areas NVARCHAR(500) NULL,
    patient_facing BIT NULL,
    clinical_background BIT NULL,
    technical_proficiency NVARCHAR(50) NULL,
    risk_tolerance NVARCHAR(50) NULL,
    innovation_adoption NVARCHAR(50) NULL,
    typical_day NVARCHAR(1000) NULL,
    quote_text NVARCHAR(500) NULL,
    avatar_url NVARCHAR(500) NULL,
    linkedin_keywords NVARCHAR(500) NULL,
    source_system NVARCHAR(50) NULL,
    notes NVARCHAR(1000) NULL,
    version_number INT NULL,
    is_active BIT NULL
);
CREATE TABLE legacy.org_personas (
    id INT NOT NULL PRIMARY KEY,
    unique_id NVARCHAR(64) NOT NULL,
    name NVARCHAR(200) NULL,
    industry_id INT NULL,
    primary_role_id INT NULL,
    department_id INT NULL,
    function_id INT NULL,
    seniority_level NVARCHAR(50) NULL,
    description NVARCHAR(2000) NULL
);
