"""Shared fixtures come from the ``jmmc_devtools`` pytest plugin (registered by entry point)."""
