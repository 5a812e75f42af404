DROP TABLE results.segment_results;
DROP TABLE results.generation_status;
DROP TABLE results.scenarios;
DROP TABLE results.montecarlo_partials;
DROP TABLE results.montecarlo_runs;
GO
DROP SCHEMA results;
