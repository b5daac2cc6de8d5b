"""Optical interferometry database: OIFITS collections and granules."""

from importlib.metadata import version

__version__ = version("oidb")
