"""Persona targeting: people matched to registry personas by rules kept as data; strategies per persona."""
