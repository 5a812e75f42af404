-- The flat export sheet: exactly one row per transaction of dbo.Transactions.
-- Every relation joined here is one row per canonical_tx_id by construction (GROUP BY the key, or a
-- primary key), so interactions and insight rows can never multiply the rows (12,047 -> 33,362 once).
-- The interaction timestamp, when present, wins over txn_ts for Daypart, weekday and hour.
-- Category, Brand and Other_Products come from ref.transaction_baskets, which the export job fills for
-- new transactions before it reads this view (ranking every item line here was most of its cost).
-- Text is compared as Azure SQL's default collation does, on any engine: on its key UPPER(RTRIM(x)),
-- and a MAX over text is taken in code-point order (COLLATE ..._BIN2; DuckDB's own order). Gender is
-- shown in the domain's spelling (Male/Female) whatever the case or padding it was recorded with.
CREATE OR ALTER VIEW dbo.v_flat_export_sheet AS
WITH interactions AS (
    SELECT canonical_tx_id, MIN(TransactionDate) AS ix_ts, MAX(Age) AS age,
           MAX(UPPER(RTRIM(Gender)) COLLATE Latin1_General_100_BIN2) AS gender_key
    FROM dbo.SalesInteractions
    GROUP BY canonical_tx_id
),
insights AS (
    SELECT sessionId,
           MAX(CASE RTRIM(substitution_event) WHEN '1' THEN 1 WHEN '0' THEN 0 END) AS substituted
    FROM dbo.v_insight_base
    GROUP BY sessionId
),
base AS (
    SELECT t.canonical_tx_id, t.total_amount, t.total_items, b.category, b.brand, st.store_name,
           COALESCE(i.ix_ts, t.txn_ts) AS ts, i.age, i.gender_key, tp.role, s.substituted, b.other_products
    FROM dbo.Transactions AS t
    LEFT JOIN dbo.Stores AS st ON st.store_id = t.store_id
    LEFT JOIN ref.transaction_baskets AS b ON b.canonical_tx_id = t.canonical_tx_id
    LEFT JOIN interactions AS i ON i.canonical_tx_id = t.canonical_tx_id
    LEFT JOIN ref.transaction_personas AS tp ON tp.canonical_tx_id = t.canonical_tx_id
    LEFT JOIN insights AS s ON s.sessionId = t.canonical_tx_id
),
timed AS (
    SELECT b.*, DATEPART(hour, b.ts) AS hr,
           DATEDIFF(day, CAST('1900-01-01' AS DATE), CAST(b.ts AS DATE)) % 7 AS weekday_index
    FROM base AS b
)
SELECT
    CAST(canonical_tx_id AS NVARCHAR(64)) AS Transaction_ID,
    CAST(total_amount AS DECIMAL(18, 2)) AS Transaction_Value,
    CAST(total_items AS INT) AS Basket_Size,
    category AS Category,
    brand AS Brand,
    CASE
        WHEN hr BETWEEN 5 AND 11 THEN 'Morning'
        WHEN hr BETWEEN 12 AND 17 THEN 'Afternoon'
        WHEN hr BETWEEN 18 AND 22 THEN 'Evening'
        ELSE 'Night'
    END AS Daypart,
    CONCAT_WS(' ',
        CASE
            WHEN age BETWEEN 18 AND 24 THEN '18-24'
            WHEN age BETWEEN 25 AND 34 THEN '25-34'
            WHEN age BETWEEN 35 AND 44 THEN '35-44'
            WHEN age BETWEEN 45 AND 54 THEN '45-54'
            WHEN age BETWEEN 55 AND 64 THEN '55-64'
            WHEN age >= 65 THEN '65+'
        END,
        CASE gender_key WHEN 'MALE' THEN 'Male' WHEN 'FEMALE' THEN 'Female' END,
        CASE WHEN UPPER(RTRIM(role)) <> 'REGULAR' THEN role END
    ) AS [Demographics (Age/Gender/Role)],
    CASE WHEN weekday_index IN (5, 6) THEN 'Weekend' ELSE 'Weekday' END AS Weekday_vs_Weekend,
    CASE
        WHEN hr = 0 THEN '12AM'
        WHEN hr < 12 THEN CONCAT(hr, 'AM')
        WHEN hr = 12 THEN '12PM'
        ELSE CONCAT(hr - 12, 'PM')
    END AS [Time of transaction],
    store_name AS Location,
    COALESCE(other_products, '') AS Other_Products,
    CAST(substituted AS BIT) AS Was_Substitution
FROM timed;
