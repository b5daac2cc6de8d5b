"""Catalogue of measured stellar diameters, submissions and releases."""

from importlib.metadata import version

__version__ = version("jmdc")
