"""Realistic synthetic Scout data for the embedded default (and for benchmarks)."""
