DROP TABLE gold.refresh_watermarks;
DROP TABLE gold.daily_sales;
GO
DROP SCHEMA gold;
