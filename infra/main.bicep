// Scout Jobs: everything `azd up` provisions. Modules are small and composed here, as in the
// Azure Functions Flex Consumption quickstarts. No secret is a parameter, a setting or an output.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name and tag every resource.')
param environmentName string

@minLength(1)
@description('Primary location for all resources.')
param location string

@description('Object id of the Microsoft Entra user or group that administers Azure SQL.')
param sqlAdminObjectId string

@description('Display name (login) of that Microsoft Entra administrator.')
param sqlAdminLogin string

@allowed([ 'User', 'Group' ])
@description('Whether sqlAdminObjectId is a user or a group (a group of administrators is recommended).')
param sqlAdminPrincipalType string = 'User'

@description('Private networking: a VNet the app integrates with, private endpoints for storage, Key Vault and Azure SQL, and their public network access off. The postprovision hook then has to run from inside the VNet.')
param vnetEnabled bool = false

@description('Public IP address of whoever runs the postprovision hook, allowed through the SQL firewall (empty: none; unused with vnetEnabled).')
param sqlClientIpAddress string = ''

@description('Resource id of the action group the alerts notify (empty: alerts fire without notifying).')
param actionGroupId string = ''

@description('CRON schedules (six fields) of the timers.')
param migrationsSchedule string = '0 0 2 * * *'
param exportSchedule string = '0 30 2 * * *'
param montecarloSchedule string = '0 0 4 * * *'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-scout-${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-scout-${resourceToken}', location: location, tags: tags }
}

module monitoring 'monitoring/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    publisherPrincipalId: identity.outputs.principalId
    actionGroupId: actionGroupId
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stscout${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    privateOnly: vnetEnabled
  }
}

module keyVault 'core/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-scout-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    privateOnly: vnetEnabled
  }
}

module sql 'core/sql.bicep' = {
  name: 'sql'
  scope: rg
  params: {
    serverName: 'sql-scout-${resourceToken}'
    databaseName: 'scout'
    location: location
    tags: tags
    adminObjectId: sqlAdminObjectId
    adminLogin: sqlAdminLogin
    adminPrincipalType: sqlAdminPrincipalType
    privateOnly: vnetEnabled
    clientIpAddress: sqlClientIpAddress
  }
}

module network 'core/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-scout-${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
    sqlServerId: sql.outputs.id
  }
}

module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: 'func-scout-${resourceToken}'
    planName: 'plan-scout-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainer: storage.outputs.deploymentContainer
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    sqlServerFqdn: sql.outputs.serverFqdn
    sqlDatabaseName: sql.outputs.databaseName
    exportsContainer: storage.outputs.exportsContainer
    migrationsSchedule: migrationsSchedule
    exportSchedule: exportSchedule
    montecarloSchedule: montecarloSchedule
    subnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output APP_IDENTITY_NAME string = identity.outputs.name
output SQL_SERVER_FQDN string = sql.outputs.serverFqdn
output SQL_DATABASE_NAME string = sql.outputs.databaseName
output VNET_ENABLED bool = vnetEnabled
output KEY_VAULT_URI string = keyVault.outputs.uri
output WORKBOOK_ID string = monitoring.outputs.workbookId
