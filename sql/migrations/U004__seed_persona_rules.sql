DELETE FROM ref.persona_rules WHERE rule_id BETWEEN 1 AND 12;
