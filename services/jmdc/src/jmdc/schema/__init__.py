"""SQLAlchemy models of JMDC; every table lives in the ``jmdc`` schema."""

from jmmc_core.database import service_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata("jmdc")
