"""SQLAlchemy models of JMDC; every table lives in the ``jmdc`` schema."""

from sqlalchemy.orm import DeclarativeBase

from jmmc_core.database import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("jmdc")
