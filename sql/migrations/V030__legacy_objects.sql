-- The legacy store/product database as production has it (no foreign keys: real legacy data has
-- transactions whose store or product no longer exists). Production already has these objects: run
--   scout migrate apply --target 23      (everything before the medallion, if pending)
--   scout migrate baseline --version 30
-- there once, so this file is recorded as present and never executed. The embedded default creates them.
CREATE SCHEMA legacy;
GO
CREATE TABLE legacy.geography (
    id INT NOT NULL PRIMARY KEY,
    store_name NVARCHAR(200) NOT NULL,
    region NVARCHAR(100) NULL,
    city NVARCHAR(100) NULL,
    barangay NVARCHAR(100) NULL
);
CREATE TABLE legacy.organization (
    id INT NOT NULL PRIMARY KEY,
    product_name NVARCHAR(200) NOT NULL,
    brand NVARCHAR(100) NULL,
    category NVARCHAR(100) NULL,
    unit_price DECIMAL(18, 2) NULL
);
CREATE TABLE legacy.transactions (
    id BIGINT NOT NULL PRIMARY KEY,
    geography_id INT NULL,
    organization_id INT NULL,
    transaction_ts DATETIME2 NOT NULL,
    quantity INT NOT NULL,
    peso_value DECIMAL(18, 2) NOT NULL
);
