-- Post-deployment (run once, as the Microsoft Entra administrator of the server):
--   sqlcmd -S <server>.database.windows.net -d scout -G -v APP_IDENTITY_NAME="<identity name>" -i infra/sql/grant-app-identity.sql
-- The app identity gets exactly what the jobs need: read, write, and DDL for migrations. Nothing more.
CREATE USER [$(APP_IDENTITY_NAME)] FROM EXTERNAL PROVIDER;
ALTER ROLE db_datareader ADD MEMBER [$(APP_IDENTITY_NAME)];
ALTER ROLE db_datawriter ADD MEMBER [$(APP_IDENTITY_NAME)];
ALTER ROLE db_ddladmin ADD MEMBER [$(APP_IDENTITY_NAME)];
