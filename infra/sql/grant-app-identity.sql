-- Post-deployment (run once, as the Microsoft Entra administrator of the server; safe to run again):
--   sqlcmd -S <server>.database.windows.net -d scout -G -v APP_IDENTITY_NAME="<identity name>" -i infra/sql/grant-app-identity.sql
-- The app identity gets exactly what the jobs need: read and write on every schema, and DDL for migrations
-- (schemas, tables, views, indexes). Nothing more: not db_owner, no EXECUTE, no ALTER DATABASE. The migration
-- lock (sp_getapplock, sp_releaseapplock, APPLOCK_MODE) needs only the public role every user has.
IF DATABASE_PRINCIPAL_ID(N'$(APP_IDENTITY_NAME)') IS NULL
    CREATE USER [$(APP_IDENTITY_NAME)] FROM EXTERNAL PROVIDER;
ALTER ROLE db_datareader ADD MEMBER [$(APP_IDENTITY_NAME)];
ALTER ROLE db_datawriter ADD MEMBER [$(APP_IDENTITY_NAME)];
ALTER ROLE db_ddladmin ADD MEMBER [$(APP_IDENTITY_NAME)];
GO
-- The flat export reads its base count and its rows in one SNAPSHOT transaction; statements otherwise run
-- under the database default (READ_COMMITTED_SNAPSHOT, on in Azure SQL Database). New Azure SQL databases
-- allow SNAPSHOT already; a copied, restored or imported one may not, and ARM has no property for it.
ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;
GO
