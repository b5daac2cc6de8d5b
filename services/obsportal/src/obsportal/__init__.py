"""Observation portal: VLTI exposures ingested from ESO headers."""

from importlib.metadata import version

__version__ = version("obsportal")
