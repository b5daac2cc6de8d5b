"""SQLAlchemy models of ObsPortal; every table lives in the ``obsportal`` schema."""

from jmmc_core.database import service_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata("obsportal")
