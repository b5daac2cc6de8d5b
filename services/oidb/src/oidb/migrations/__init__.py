"""Alembic revisions of OiDB (environment shared in jmmc_core)."""
