DROP VIEW registry.v_campaign_strategy_performance;
GO
DROP VIEW registry.v_campaign_performance_by_persona;
GO
DROP TABLE registry.connectors;
DROP TABLE registry.targets;
DROP TABLE registry.match_weights;
DROP TABLE registry.persona_match_rules;
DROP TABLE registry.engagements;
DROP TABLE registry.campaigns;
DROP TABLE registry.persona_strategies;
DROP TABLE registry.campaign_strategies;
DROP TABLE registry.persons;
DROP TABLE registry.companies;
