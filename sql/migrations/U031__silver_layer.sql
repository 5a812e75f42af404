-- Full rollback (after scout medallion rollback has put the legacy tables back): silver goes.
DROP TABLE silver.orphans;
DROP TABLE silver.transaction_items;
DROP TABLE silver.transactions;
DROP TABLE silver.products;
DROP TABLE silver.categories;
DROP TABLE silver.brands;
DROP TABLE silver.stores;
GO
DROP SCHEMA silver;
