"""SQLAlchemy models of OiDB; every table lives in the ``oidb`` schema."""

from jmmc_core.database import service_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata("oidb")
