"""SQLAlchemy models of OiDB; every table lives in the ``oidb`` schema."""

from sqlalchemy.orm import DeclarativeBase

from jmmc_core.database import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("oidb")


from .catalogue import (  # noqa: E402 - the models register on Base
    Collection,
    CollectionGroup,
    Granule,
    NameResolution,
    ObsportalHarvest,
    OifitsFile,
)

__all__ = [
    "Base",
    "Collection",
    "CollectionGroup",
    "Granule",
    "NameResolution",
    "ObsportalHarvest",
    "OifitsFile",
]
