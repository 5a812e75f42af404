DROP TABLE ref.persona_rules;
