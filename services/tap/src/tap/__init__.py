"""Shared TAP/ADQL server over the published tables of every service."""

from importlib.metadata import version

__version__ = version("tap")
