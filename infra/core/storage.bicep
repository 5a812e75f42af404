// The app's storage: host state, the job queues and the exports container, reached by identity only.
param name string
param location string
param tags object
@description('Principal id of the app identity.')
param principalId string
@description('True when the app reaches storage by private endpoints only (vnetEnabled).')
param privateOnly bool = false

var deploymentContainer = 'app-package'
var exportsContainer = 'exports'
var queues = [ 'scout-jobs', 'scout-jobs-poison', 'scout-montecarlo-batches', 'scout-montecarlo-batches-poison' ]

// Built-in roles: Storage Blob Data Owner, Storage Queue Data Contributor, Storage Table Data Contributor.
var roles = [ 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', '974c5e8b-45b9-4653-ba55-5f855dd0fb88', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' ]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:Public network access only while vnetEnabled is false (the app is not VNet-integrated); with vnetEnabled it is Disabled and defaultAction Deny; every request needs Entra ID either way
  // checkov:skip=CKV_AZURE_59:See CKV_AZURE_35: public only while vnetEnabled is false; shared keys are off, so access is Entra-only
  // checkov:skip=CKV2_AZURE_33:Private endpoints (blob, queue, table) are declared in core/network.bicep, deployed when vnetEnabled is true
  // checkov:skip=CKV_AZURE_33:Queue logging goes to Log Analytics through diagnostic settings
  // checkov:skip=CKV_AZURE_206:Locally redundant storage suffices: exports are regenerated nightly
  // checkov:skip=CKV2_AZURE_38:No soft delete needed: exports are regenerated nightly
  // checkov:skip=CKV2_AZURE_1:Microsoft-managed keys suffice for synthetic and aggregated retail data
  // checkov:skip=CKV2_AZURE_40:Shared key access is disabled (allowSharedKeyAccess: false)
  // checkov:skip=CKV2_AZURE_41:No SAS can be issued: shared keys are disabled
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateOnly ? 'Deny' : 'Allow', bypass: privateOnly ? 'None' : 'AzureServices' }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  resource deployment 'containers' = { name: deploymentContainer }
  resource exports 'containers' = { name: exportsContainer }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource jobQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  scope: storage
  name: guid(storage.id, principalId, role)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainer string = deploymentContainer
output exportsContainer string = exportsContainer
