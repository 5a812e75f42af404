"""Job plumbing shared by every domain: run records, structured events."""
