"""JMDC's name resolver: the platform's (:mod:`jmmc_core.name_resolver`), its answers cached in
``jmdc.name_resolutions`` (``JMDC_RESOLVER_*`` settings)."""

from jmmc_core import name_resolver
from jmmc_core.name_resolver import Resolution

from ..config import Settings
from ..schema import NameResolution

__all__ = ["Resolution", "Resolver"]


class Resolver(name_resolver.Resolver):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, NameResolution)
