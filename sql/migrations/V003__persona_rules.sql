-- The 12 canonical shopper personas, kept as data: the inference reads this table (never hard-coded).
-- List columns are '|'-separated; hour_min > hour_max wraps past midnight; lower priority is stronger.
CREATE TABLE ref.persona_rules (
    rule_id INT NOT NULL PRIMARY KEY,
    role_name NVARCHAR(100) NOT NULL UNIQUE,
    priority INT NOT NULL,
    include_terms NVARCHAR(1000) NULL,
    exclude_terms NVARCHAR(1000) NULL,
    must_have_categories NVARCHAR(1000) NULL,
    must_have_brands NVARCHAR(1000) NULL,
    daypart_in NVARCHAR(200) NULL,
    hour_min INT NULL,
    hour_max INT NULL,
    min_items INT NULL,
    min_age INT NULL,
    max_age INT NULL,
    gender_in NVARCHAR(50) NULL,
    notes NVARCHAR(500) NULL,
    is_active BIT NOT NULL DEFAULT 1,
    created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME()
);
