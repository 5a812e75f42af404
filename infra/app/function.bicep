// The Function App on the Flex Consumption plan (Python 3.11), running as the user-assigned identity.
// Its app settings are exactly the settings scout/config.py declares for Azure, plus the platform's.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainer string
param exportsContainer string
param appInsightsConnectionString string
param keyVaultUri string
param sqlServerFqdn string
param sqlDatabaseName string
param migrationsSchedule string
param exportSchedule string
param montecarloSchedule string
@description('Subnet (delegated to Microsoft.App/environments) the app integrates with; empty: no VNet.')
param subnetId string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex Consumption plans have no zone-redundancy setting; instances are spread by the platform
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:Inbound stays public for callers outside Azure, guarded by function/admin keys; vnetEnabled integrates the app's outbound traffic with the VNet, it adds no inbound private endpoint
  // checkov:skip=CKV_AZURE_17:Callers use function keys and Entra tokens, not client certificates
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero; a minimum instance count is a cost, not a failover need here
  // checkov:skip=CKV_AZURE_213:GET /api/health exists; Flex Consumption has no App Service health-check setting
  // checkov:skip=CKV_AZURE_56:Authentication is by function and admin keys plus the platform's; no end-user sign-in
  // checkov:skip=CKV_AZURE_221:See CKV_AZURE_222: inbound is public by design, with function/admin keys; outbound is VNet-integrated when vnetEnabled
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
  }

  resource settings 'config' = {
  // checkov:skip=CKV_AZURE_66:These are app settings, not siteConfig: request tracing does not apply to Functions
  // checkov:skip=CKV_AZURE_63:Functions log to Application Insights, not App Service HTTP logs
  // checkov:skip=CKV_AZURE_222:See the site: inbound is public by design, guarded by function/admin keys
  // checkov:skip=CKV_AZURE_80:Python app: .NET Framework version does not apply
  // checkov:skip=CKV_AZURE_13:Function and admin keys guard the endpoints (Easy Auth would break the key-based callers)
  // checkov:skip=CKV_AZURE_88:Flex Consumption deploys from a blob container, not Azure Files
  // checkov:skip=CKV_AZURE_65:Errors are logged to Application Insights; detailed error pages are not served
    name: 'appsettings'
    properties: {
      // platform: storage and Application Insights by identity
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
      AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
      AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
      APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
      // scout/config.py
      AZURE_CLIENT_ID: identityClientId
      KEY_VAULT_URL: keyVaultUri
      SCOUT_DATABASE_URL: 'mssql://${sqlServerFqdn}/${sqlDatabaseName}'
      SCOUT_SQL_AUTH: 'entra'
      SCOUT_SQL_USER: ''
      SCOUT_SQL_PASSWORD_SECRET_NAME: 'sql-password'
      SCOUT_ODBC_DRIVER: 'ODBC Driver 18 for SQL Server'
      SCOUT_SECRET_CACHE_SECONDS: '300'
      SCOUT_RETRY_ATTEMPTS: '5'
      SCOUT_RETRY_FIRST_WAIT_SECONDS: '5'
      SCOUT_RETRY_MAX_WAIT_SECONDS: '60'
      SCOUT_LOCK_TIMEOUT_SECONDS: '30'
      SCOUT_RUN_LEASE_SECONDS: '300'
      SCOUT_MIGRATIONS_SCHEDULE: migrationsSchedule
      SCOUT_EXPORT_SCHEDULE: exportSchedule
      SCOUT_MONTECARLO_SCHEDULE: montecarloSchedule
      SCOUT_MONTECARLO_STANDING_SCENARIOS: ''
      SCOUT_MEDALLION_VERIFY_SCHEDULE: '0 15 4 * * *'
      SCOUT_MEDALLION_REFRESH_SCHEDULE: '0 */30 * * * *'
      SCOUT_PERSONAS_SYNC_SCHEDULE: '0 */15 * * * *'
      SCOUT_TARGETING_SCHEDULE: '0 0 * * * *'
      SCOUT_EXPORT_DESTINATION: '${storage.properties.primaryEndpoints.blob}${exportsContainer}'
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
