// Key Vault in RBAC mode. It holds only the optional SQL-login fallback password (created by an
// operator, never by a template); the app identity may read secrets and nothing else.
param name string
param location string
param tags object
param principalId string
@description('True when the app reaches the vault by a private endpoint only (vnetEnabled).')
param privateOnly bool = false

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:The ACL allows all only while vnetEnabled is false (app not VNet-integrated); with vnetEnabled it denies by default; access is RBAC-only either way
  // checkov:skip=CKV_AZURE_189:Public network access only while vnetEnabled is false; with vnetEnabled it is Disabled
  // checkov:skip=CKV2_AZURE_32:The private endpoint is declared in core/network.bicep, deployed when vnetEnabled is true
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateOnly ? 'Deny' : 'Allow', bypass: 'AzureServices' }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

output uri string = vault.properties.vaultUri
output name string = vault.name
output id string = vault.id
