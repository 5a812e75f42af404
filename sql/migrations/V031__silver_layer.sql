-- Silver: the legacy stores and products in their own tables, brands and categories conformed (one row per
-- UPPER(RTRIM(text)) key, shown in its most frequent spelling), a legacy transaction as one transaction
-- with one item line. Foreign keys are declared with the tables, before any row exists: SQL Server checks
-- every row the backfill inserts, so they are trusted (is_not_trusted = 0) from the start, and no
-- WITH NOCHECK / WITH CHECK CHECK CONSTRAINT validation pass over a filled table is ever needed.
-- Every product keeps its original brand and category text beside the conformed keys.
CREATE SCHEMA silver;
GO
CREATE TABLE silver.stores (
    store_id INT NOT NULL PRIMARY KEY,
    store_name NVARCHAR(200) NOT NULL,
    region NVARCHAR(100) NULL,
    city NVARCHAR(100) NULL,
    barangay NVARCHAR(100) NULL,
    copied_at DATETIME2 NOT NULL
);
CREATE TABLE silver.brands (
    brand_key NVARCHAR(100) NOT NULL PRIMARY KEY,
    brand_name NVARCHAR(100) NOT NULL,
    spellings INT NOT NULL,
    products INT NOT NULL
);
CREATE TABLE silver.categories (
    category_key NVARCHAR(100) NOT NULL PRIMARY KEY,
    category_name NVARCHAR(100) NOT NULL,
    spellings INT NOT NULL,
    products INT NOT NULL
);
CREATE TABLE silver.products (
    product_id INT NOT NULL PRIMARY KEY,
    product_name NVARCHAR(200) NOT NULL,
    brand NVARCHAR(100) NULL,
    category NVARCHAR(100) NULL,
    unit_price DECIMAL(18, 2) NULL,
    brand_key NVARCHAR(100) NULL REFERENCES silver.brands (brand_key),
    category_key NVARCHAR(100) NULL REFERENCES silver.categories (category_key),
    copied_at DATETIME2 NOT NULL
);
CREATE TABLE silver.transactions (
    transaction_id BIGINT NOT NULL PRIMARY KEY,
    store_id INT NOT NULL REFERENCES silver.stores (store_id),
    transaction_ts DATETIME2 NOT NULL,
    copied_at DATETIME2 NOT NULL
);
CREATE TABLE silver.transaction_items (
    transaction_id BIGINT NOT NULL REFERENCES silver.transactions (transaction_id),
    line_no INT NOT NULL,
    product_id INT NOT NULL REFERENCES silver.products (product_id),
    quantity INT NOT NULL,
    peso_value DECIMAL(18, 2) NOT NULL,
    PRIMARY KEY (transaction_id, line_no)
);
-- Legacy rows that cannot be placed (their store or product does not exist): kept aside with every legacy
-- column and the reason, never dropped and never guessed; the compatibility view reads them back.
CREATE TABLE silver.orphans (
    source_table NVARCHAR(40) NOT NULL,
    source_id BIGINT NOT NULL,
    reason NVARCHAR(40) NOT NULL,
    geography_id INT NULL,
    organization_id INT NULL,
    transaction_ts DATETIME2 NOT NULL,
    quantity INT NOT NULL,
    peso_value DECIMAL(18, 2) NOT NULL,
    found_at DATETIME2 NOT NULL,
    PRIMARY KEY (source_table, source_id)
);
GO
CREATE INDEX ix_silver_transactions_ts ON silver.transactions (transaction_ts);
