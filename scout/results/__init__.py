"""The data-driven results the dashboard polls (/api/v3/data-driven-results/...): computed, persisted, served."""
