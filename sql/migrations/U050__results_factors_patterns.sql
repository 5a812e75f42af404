DROP TABLE results.segment_rich_content;
DROP TABLE results.pattern_matches;
DROP TABLE results.computed_factors;
DROP TABLE results.pattern_rules;
DROP TABLE results.factor_definitions;
