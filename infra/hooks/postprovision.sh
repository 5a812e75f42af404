#!/bin/sh
# azd postprovision hook: make the app identity a database user (infra/sql/grant-app-identity.sql), as the
# server's Microsoft Entra administrator. azd passes the deployment's outputs as environment variables.
# sqlcmd (go-sqlcmd) -G signs in with the Azure CLI (`az login`); no password or token is stored anywhere.
set -eu

: "${SQL_SERVER_FQDN:?run by azd after provisioning (azd provision / azd up)}"
: "${SQL_DATABASE_NAME:?run by azd after provisioning}"
: "${APP_IDENTITY_NAME:?run by azd after provisioning}"

grant="sqlcmd -S $SQL_SERVER_FQDN -d $SQL_DATABASE_NAME -G -b -v APP_IDENTITY_NAME=$APP_IDENTITY_NAME -i infra/sql/grant-app-identity.sql"

if [ "${VNET_ENABLED:-false}" = "true" ]; then
    echo "vnetEnabled: Azure SQL has no public endpoint. From a machine in the VNet (or peered to it), run:"
    echo "  $grant"
    exit 0
fi
if ! command -v sqlcmd >/dev/null 2>&1; then
    echo "sqlcmd (go-sqlcmd) is not installed. Install it, then run:" >&2
    echo "  $grant" >&2
    exit 1
fi

echo "Granting the app identity $APP_IDENTITY_NAME its database roles on $SQL_SERVER_FQDN/$SQL_DATABASE_NAME"
sqlcmd -S "$SQL_SERVER_FQDN" -d "$SQL_DATABASE_NAME" -G -b \
    -v APP_IDENTITY_NAME="$APP_IDENTITY_NAME" -i infra/sql/grant-app-identity.sql
