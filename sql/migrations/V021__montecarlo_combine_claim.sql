-- The Monte Carlo fan-in's combine claim: the batch that finds every partial in claims the combine
-- with one conditional UPDATE and holds it for a lease, so a combiner that dies is replaced by the next
-- delivery after the lease, and only the claim's holder can complete the run.
-- combiner: the claim's token (a UUID made by the claimant); completion requires it.
ALTER TABLE results.montecarlo_runs ADD combiner NVARCHAR(36) NULL;
-- combiner_batch: the batch whose queue message claimed it (its redelivery retries until the lease ends).
ALTER TABLE results.montecarlo_runs ADD combiner_batch INT NULL;
-- combine_claimed_at: when the claim was taken (UTC); the lease runs from here.
ALTER TABLE results.montecarlo_runs ADD combine_claimed_at DATETIME2 NULL;
-- combine_claims: how many times the combine was claimed (1 unless a combine failed or was abandoned).
ALTER TABLE results.montecarlo_runs ADD combine_claims INT NULL;
