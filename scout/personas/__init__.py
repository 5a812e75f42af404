"""Persona inference: the 12 canonical shopper personas scored from rules kept as data in the database."""
