# azd postprovision hook: make the app identity a database user (infra/sql/grant-app-identity.sql), as the
# server's Microsoft Entra administrator. azd passes the deployment's outputs as environment variables.
# sqlcmd (go-sqlcmd) -G signs in with the Azure CLI (`az login`); no password or token is stored anywhere.
$ErrorActionPreference = 'Stop'

foreach ($name in 'SQL_SERVER_FQDN', 'SQL_DATABASE_NAME', 'APP_IDENTITY_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        throw "$name is not set: this hook is run by azd after provisioning (azd provision / azd up)"
    }
}
$server = $env:SQL_SERVER_FQDN
$database = $env:SQL_DATABASE_NAME
$identity = $env:APP_IDENTITY_NAME
$grant = "sqlcmd -S $server -d $database -G -b -v APP_IDENTITY_NAME=$identity -i infra/sql/grant-app-identity.sql"

if ($env:VNET_ENABLED -eq 'true') {
    Write-Host "vnetEnabled: Azure SQL has no public endpoint. From a machine in the VNet (or peered to it), run:"
    Write-Host "  $grant"
    exit 0
}
if (-not (Get-Command sqlcmd -ErrorAction SilentlyContinue)) {
    Write-Error "sqlcmd (go-sqlcmd) is not installed. Install it, then run:`n  $grant"
    exit 1
}

Write-Host "Granting the app identity $identity its database roles on $server/$database"
sqlcmd -S $server -d $database -G -b -v APP_IDENTITY_NAME=$identity -i infra/sql/grant-app-identity.sql
exit $LASTEXITCODE
