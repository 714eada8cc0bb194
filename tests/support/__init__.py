"""Helpers the tiers share, imported explicitly (tests/conftest.py has the common fixtures)."""
