"""Alembic revisions of ObsPortal (environment shared in jmmc_core)."""
