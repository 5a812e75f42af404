-- Each transaction's basket summarized once: its primary item (the line with the largest amount, ties
-- to the lowest line_no, as in dbo.v_transactions_flat_production) and its other products. The flat
-- export sheet joins this table, one row per transaction by its primary key, instead of ranking and
-- aggregating every item line on each export. The export job fills it for transactions not yet
-- summarized (scout.exports.baskets); `scout export flat --full` summarizes every basket again.
CREATE TABLE ref.transaction_baskets (
    canonical_tx_id NVARCHAR(64) NOT NULL PRIMARY KEY,
    primary_product NVARCHAR(200) NULL,
    category NVARCHAR(100) NULL,
    brand NVARCHAR(100) NULL,
    other_products NVARCHAR(MAX) NULL,
    summarized_at DATETIME2 NOT NULL
);
