// Private networking (vnetEnabled): a VNet whose `app` subnet the Flex Consumption app integrates with
// (delegated to Microsoft.App/environments, as Flex Consumption requires) and whose `endpoints` subnet holds
// private endpoints for storage (blob, queue, table: the host and the jobs use all three), Key Vault and
// Azure SQL. Those services then turn public network access off.
param name string
param location string
param tags object
param storageAccountId string
param keyVaultId string
param sqlServerId string

resource vnet 'Microsoft.Network/virtualNetworks@2023-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [ '10.0.0.0/16' ] }
    subnets: [
      {
        name: 'endpoints'
        properties: {
          addressPrefixes: [ '10.0.1.0/24' ]
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
          networkSecurityGroup: { id: nsg.id }
        }
      }
      {
        name: 'app'
        properties: {
          addressPrefixes: [ '10.0.2.0/24' ]
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
          networkSecurityGroup: { id: nsg.id }
        }
      }
    ]
  }
}

// No rules of its own: the default rules allow traffic within the VNet and deny inbound from the internet.
resource nsg 'Microsoft.Network/networkSecurityGroups@2023-05-01' = {
  name: '${name}-nsg'
  location: location
  tags: tags
  properties: { securityRules: [] }
}

var endpointSubnetId = '${vnet.id}/subnets/endpoints'

module blob 'private-endpoint.bicep' = {
  name: 'pe-blob'
  params: {
    name: 'pe-blob'
    location: location
    tags: tags
    vnetId: vnet.id
    subnetId: endpointSubnetId
    serviceId: storageAccountId
    groupId: 'blob'
    dnsZoneName: 'privatelink.blob.${environment().suffixes.storage}'
  }
}

module queue 'private-endpoint.bicep' = {
  name: 'pe-queue'
  params: {
    name: 'pe-queue'
    location: location
    tags: tags
    vnetId: vnet.id
    subnetId: endpointSubnetId
    serviceId: storageAccountId
    groupId: 'queue'
    dnsZoneName: 'privatelink.queue.${environment().suffixes.storage}'
  }
}

module table 'private-endpoint.bicep' = {
  name: 'pe-table'
  params: {
    name: 'pe-table'
    location: location
    tags: tags
    vnetId: vnet.id
    subnetId: endpointSubnetId
    serviceId: storageAccountId
    groupId: 'table'
    dnsZoneName: 'privatelink.table.${environment().suffixes.storage}'
  }
}

module vault 'private-endpoint.bicep' = {
  name: 'pe-vault'
  params: {
    name: 'pe-vault'
    location: location
    tags: tags
    vnetId: vnet.id
    subnetId: endpointSubnetId
    serviceId: keyVaultId
    groupId: 'vault'
    dnsZoneName: 'privatelink.vaultcore.azure.net'
  }
}

module sql 'private-endpoint.bicep' = {
  name: 'pe-sql'
  params: {
    name: 'pe-sql'
    location: location
    tags: tags
    vnetId: vnet.id
    subnetId: endpointSubnetId
    serviceId: sqlServerId
    groupId: 'sqlServer'
    dnsZoneName: 'privatelink${environment().suffixes.sqlServerHostname}'
  }
}

output appSubnetId string = '${vnet.id}/subnets/app'
