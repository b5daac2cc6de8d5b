"""Shared runtime of the JMMC platform services."""
