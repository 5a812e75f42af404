"""Monte Carlo scenario batches: reproducible simulations that fan out across instances."""
