"""Alembic revisions of JMDC (environment shared in jmmc_core)."""
