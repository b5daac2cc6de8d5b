"""SQLAlchemy models of TAP; every table lives in the ``tap`` schema."""

from jmmc_core.database import service_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = service_metadata("tap")
