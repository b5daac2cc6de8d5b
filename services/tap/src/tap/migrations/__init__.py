"""Alembic revisions of TAP (environment shared in jmmc_core)."""
