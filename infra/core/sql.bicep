// Azure SQL with Microsoft Entra-only authentication: no SQL login exists, so no password can leak.
// The app identity becomes a database user by infra/sql/grant-app-identity.sql (azd's postprovision hook,
// infra/hooks/); the same script allows SNAPSHOT isolation (the export needs it; ARM has no property for
// ALLOW_SNAPSHOT_ISOLATION).
//
// Network: with privateOnly (vnetEnabled) public network access is off and no firewall rule exists; the app
// reaches the server by its private endpoint. Without it, the Flex Consumption app has no outbound address
// of its own to allow (its outbound addresses are shared and change; a fixed one needs VNet integration and
// a NAT gateway), so the server keeps Azure's "allow Azure services" rule (0.0.0.0), which passes the network
// layer only: every login still needs an Entra token. An operator's own address (clientIpAddress, for the
// postprovision hook) is the only other rule.
param serverName string
param databaseName string
param location string
param tags object
param adminObjectId string
param adminLogin string
@allowed([ 'User', 'Group' ])
@description('Kind of Entra principal adminObjectId names: a user, or (recommended) a group of administrators.')
param adminPrincipalType string = 'User'
@description('True when the app reaches the server by a private endpoint only (vnetEnabled).')
param privateOnly bool = false
@description('Public IP address of the operator running the postprovision hook (empty: none). Unused with privateOnly.')
param clientIpAddress string = ''

resource server 'Microsoft.Sql/servers@2023-08-01-preview' = {
  // checkov:skip=CKV_AZURE_113:Public network access only while vnetEnabled is false (app not VNet-integrated; Entra-only auth); with vnetEnabled it is Disabled
  // checkov:skip=CKV2_AZURE_2:Vulnerability assessment comes with the platform team's Defender for SQL plan
  // checkov:skip=CKV2_AZURE_45:The private endpoint is declared in core/network.bicep, deployed when vnetEnabled is true
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      tenantId: subscription().tenantId
      principalType: adminPrincipalType
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

resource allowAzure 'Microsoft.Sql/servers/firewallRules@2023-08-01-preview' = if (!privateOnly) {
  parent: server
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource allowClient 'Microsoft.Sql/servers/firewallRules@2023-08-01-preview' = if ((!privateOnly) && (!empty(clientIpAddress))) {
  parent: server
  name: 'AllowOperatorClient'
  properties: { startIpAddress: clientIpAddress, endIpAddress: clientIpAddress }
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

output id string = server.id
output serverFqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
