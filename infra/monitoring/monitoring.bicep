// Log Analytics + Application Insights (local auth off: the app publishes with its identity),
// the alert rules and the Scout Jobs workbook, all reading the events of scout/monitoring/events.py
// (their fields are customDimensions: the app exports them with OpenTelemetry, scout/monitoring/telemetry.py).
param location string
param tags object
param resourceToken string
param publisherPrincipalId string
param actionGroupId string

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-scout-${resourceToken}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-scout-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, publisherPrincipalId, monitoringMetricsPublisher)
  properties: {
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

// window: the rule's query time range, which bounds every ago() in the query (tests/test_telemetry.py checks it
// covers the query's look-back); frequency: how often it runs (never longer than the window: no gaps).
var alerts = [
  { name: 'function-failures', severity: 2, window: 'PT1H', frequency: 'PT15M', query: loadTextContent('alert-function-failures.kql'), description: 'A function invocation failed' }
  { name: 'job-failed', severity: 2, window: 'PT1H', frequency: 'PT15M', query: loadTextContent('alert-job-failed.kql'), description: 'A Scout job run was recorded as failed' }
  { name: 'export-validation-failed', severity: 1, window: 'PT1H', frequency: 'PT15M', query: loadTextContent('alert-export-validation.kql'), description: 'The flat export failed validation; nothing was published' }
  { name: 'montecarlo-stuck', severity: 3, window: 'P1D', frequency: 'PT1H', query: loadTextContent('alert-montecarlo-stuck.kql'), description: 'A Monte Carlo run has been processing for over two hours' }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for alert in alerts: {
  name: 'alert-scout-${alert.name}-${resourceToken}'
  location: location
  tags: tags
  properties: {
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [ appInsights.id ]
    evaluationFrequency: alert.frequency
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: empty(actionGroupId) ? [] : [ actionGroupId ] }
  }
}]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'scout-jobs-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Scout Jobs'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: loadTextContent('workbook.json')
  }
}

output appInsightsConnectionString string = appInsights.properties.ConnectionString
output workbookId string = workbook.id
