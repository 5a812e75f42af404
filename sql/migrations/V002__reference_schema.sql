-- Schema for reference data (persona rules, inferred personas). Schema ops (the migration ledger,
-- job runs) is created by the migration runner itself before the first migration runs.
CREATE SCHEMA ref;
