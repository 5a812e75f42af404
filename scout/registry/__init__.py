"""The persona registry: legacy persona tables consolidated, compared and kept in sync (issue 11)."""
