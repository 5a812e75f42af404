"""Versioned T-SQL migrations with a ledger, checksums, a lock, dry-run, baseline and undo."""
