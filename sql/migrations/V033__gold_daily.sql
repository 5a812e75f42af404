-- Gold: daily figures per member of each dimension (all, store, region, brand, category), per source
-- (legacy: the migrated history in silver; ingestion: dbo.*), refreshed incrementally by
-- scout medallion refresh. member_key is the collation key UPPER(RTRIM(text)) (a store: its id as text);
-- member_name is the spelling shown. revenue/units: the member's own item lines; transactions: the
-- transactions touching the member; basket_*: the whole baskets of those transactions (sum and sum of
-- squares, so the Monte Carlo model gets the mean and variance of basket value and size per segment
-- without scanning raw transactions).
CREATE SCHEMA gold;
GO
CREATE TABLE gold.daily_sales (
    sales_date DATE NOT NULL,
    source_name NVARCHAR(20) NOT NULL,
    dimension NVARCHAR(20) NOT NULL,
    member_key NVARCHAR(200) NOT NULL,
    member_name NVARCHAR(200) NOT NULL,
    revenue DECIMAL(18, 2) NOT NULL,
    units BIGINT NOT NULL,
    transactions BIGINT NOT NULL,
    basket_value DECIMAL(18, 2) NOT NULL,
    basket_value_sq DECIMAL(38, 4) NOT NULL,
    basket_units BIGINT NOT NULL,
    basket_units_sq BIGINT NOT NULL,
    refreshed_at DATETIME2 NOT NULL,
    PRIMARY KEY (source_name, dimension, member_key, sales_date)
);
-- One row per source: how far gold has read it (the source table's newest timestamp), and what the source
-- held when it did (its rows and its stores): gold covers the source while these are unchanged.
CREATE TABLE gold.refresh_watermarks (
    source_name NVARCHAR(20) NOT NULL PRIMARY KEY,
    watermark DATETIME2 NULL,
    source_rows BIGINT NOT NULL,
    store_rows BIGINT NOT NULL,
    refreshed_at DATETIME2 NOT NULL,
    run_id NVARCHAR(36) NULL,
    days_refreshed INT NOT NULL
);
GO
CREATE INDEX ix_gold_daily_sales_date ON gold.daily_sales (sales_date);
