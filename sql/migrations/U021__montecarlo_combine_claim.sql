ALTER TABLE results.montecarlo_runs DROP COLUMN combine_claims;
ALTER TABLE results.montecarlo_runs DROP COLUMN combine_claimed_at;
ALTER TABLE results.montecarlo_runs DROP COLUMN combiner_batch;
ALTER TABLE results.montecarlo_runs DROP COLUMN combiner;
