"""The flat export: one row per transaction, validated, then published as CSV + Parquet + manifest."""
