DELETE FROM results.pattern_rules WHERE pattern_id BETWEEN N'P001' AND N'P041';
