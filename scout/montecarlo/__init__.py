"""Monte Carlo scenario batches: reproducible simulations that fan out across instances."""

#: The queue each batch of a run is a message on (light here: the Functions module imports it at load).
BATCH_QUEUE = "scout-montecarlo-batches"
