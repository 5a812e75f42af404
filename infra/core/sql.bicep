// Azure SQL with Microsoft Entra-only authentication: no SQL login exists, so no password can leak.
// The app identity becomes a database user by infra/sql/grant-app-identity.sql after deployment; the same
// script allows SNAPSHOT isolation (the export needs it; ARM has no property for ALLOW_SNAPSHOT_ISOLATION).
param serverName string
param databaseName string
param location string
param tags object
param adminObjectId string
param adminLogin string

resource server 'Microsoft.Sql/servers@2023-08-01-preview' = {
  // checkov:skip=CKV_AZURE_113:The Flex Consumption app without a VNet connects over the public endpoint (Entra-only auth)
  // checkov:skip=CKV2_AZURE_2:Vulnerability assessment comes with the platform team's Defender for SQL plan
  // checkov:skip=CKV2_AZURE_45:No private endpoint without a VNet
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      tenantId: subscription().tenantId
      principalType: 'User'
    }
  }
}

// Auditing to Azure Monitor (kept 91 days) and threat-detection alerts to the administrators.
resource auditing 'Microsoft.Sql/servers/auditingSettings@2023-08-01-preview' = {
  parent: server
  name: 'default'
  properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, retentionDays: 91 }
}

resource threatDetection 'Microsoft.Sql/servers/securityAlertPolicies@2023-08-01-preview' = {
  parent: server
  name: 'Default'
  properties: { state: 'Enabled', emailAccountAdmins: true, retentionDays: 91 }
}

resource allowAzure 'Microsoft.Sql/servers/firewallRules@2023-08-01-preview' = {
  parent: server
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource database 'Microsoft.Sql/servers/databases@2023-08-01-preview' = {
  // checkov:skip=CKV_AZURE_26:Alerts go to the server's administrators (databaseThreatDetection below)
  // checkov:skip=CKV_AZURE_27:Administrators are emailed by databaseThreatDetection below
  // checkov:skip=CKV_AZURE_224:Ledger tables are not needed: the migration ledger is application-level
  // checkov:skip=CKV_AZURE_229:Zone redundancy is not needed for a serverless reporting database
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: { name: 'GP_S_Gen5_2', tier: 'GeneralPurpose' }
  properties: {
    autoPauseDelay: 60
    minCapacity: json('0.5')
    zoneRedundant: false
  }
}

resource databaseAuditing 'Microsoft.Sql/servers/databases/auditingSettings@2023-08-01-preview' = {
  parent: database
  name: 'default'
  properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, retentionDays: 91 }
}

resource databaseThreatDetection 'Microsoft.Sql/servers/databases/securityAlertPolicies@2023-08-01-preview' = {
  parent: database
  name: 'Default'
  properties: { state: 'Enabled', emailAccountAdmins: true, retentionDays: 91 }
}

output serverFqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
