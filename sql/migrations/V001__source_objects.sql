-- Source objects owned by ingestion. Production already has them: run
--   scout migrate baseline --version 1
-- there, so this file is recorded as present and never executed. The embedded default creates them.
CREATE TABLE dbo.Stores (
    store_id INT NOT NULL PRIMARY KEY,
    store_name NVARCHAR(200) NOT NULL,
    region NVARCHAR(100) NOT NULL,
    city NVARCHAR(100) NULL
);
CREATE TABLE dbo.Transactions (
    canonical_tx_id NVARCHAR(64) NOT NULL PRIMARY KEY,
    store_id INT NOT NULL,
    txn_ts DATETIME2 NOT NULL,
    total_amount DECIMAL(18, 2) NOT NULL,
    total_items INT NOT NULL
);
CREATE TABLE dbo.TransactionItems (
    canonical_tx_id NVARCHAR(64) NOT NULL,
    line_no INT NOT NULL,
    product_name NVARCHAR(200) NOT NULL,
    brand NVARCHAR(100) NULL,
    category NVARCHAR(100) NULL,
    quantity INT NOT NULL,
    unit_price DECIMAL(18, 2) NOT NULL,
    PRIMARY KEY (canonical_tx_id, line_no)
);
CREATE TABLE dbo.SalesInteractions (
    InteractionID NVARCHAR(64) NOT NULL PRIMARY KEY,
    canonical_tx_id NVARCHAR(64) NOT NULL,
    StoreID INT NULL,
    TransactionDate DATETIME2 NULL,
    Age INT NULL,
    Gender NVARCHAR(10) NULL,
    EmotionalState NVARCHAR(100) NULL,
    TranscriptionText NVARCHAR(MAX) NULL
);
-- A view in production; a table here. Zero or more rows per transaction.
CREATE TABLE dbo.v_insight_base (
    sessionId NVARCHAR(64) NOT NULL,
    substitution_event NVARCHAR(1) NULL
);
GO
-- One row per transaction; the primary category and brand are the item line with the largest amount.
-- Weekends are computed from the day count since Monday 1900-01-01, independent of DATEFIRST/language.
CREATE VIEW dbo.v_transactions_flat_production AS
SELECT
    t.canonical_tx_id,
    t.txn_ts,
    t.total_amount,
    t.total_items,
    p.category,
    p.brand,
    CASE
        WHEN DATEPART(hour, t.txn_ts) BETWEEN 5 AND 11 THEN 'Morning'
        WHEN DATEPART(hour, t.txn_ts) BETWEEN 12 AND 17 THEN 'Afternoon'
        WHEN DATEPART(hour, t.txn_ts) BETWEEN 18 AND 22 THEN 'Evening'
        ELSE 'Night'
    END AS daypart,
    CASE WHEN DATEDIFF(day, CAST('1900-01-01' AS DATE), CAST(t.txn_ts AS DATE)) % 7 IN (5, 6)
         THEN 'Weekend' ELSE 'Weekday' END AS weekday_weekend,
    s.store_name,
    t.store_id,
    s.region
FROM dbo.Transactions AS t
LEFT JOIN dbo.Stores AS s ON s.store_id = t.store_id
LEFT JOIN (
    SELECT canonical_tx_id, category, brand,
           ROW_NUMBER() OVER (PARTITION BY canonical_tx_id
                              ORDER BY quantity * unit_price DESC, line_no) AS rn
    FROM dbo.TransactionItems
) AS p ON p.canonical_tx_id = t.canonical_tx_id AND p.rn = 1;
