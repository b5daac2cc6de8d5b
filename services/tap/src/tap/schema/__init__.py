"""SQLAlchemy models of TAP; every table lives in the ``tap`` schema."""

from sqlalchemy.orm import DeclarativeBase

from jmmc_core.database import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("tap")


from .jobs import PHASES, JobRow  # noqa: E402 - needs Base

__all__ = ["PHASES", "Base", "JobRow"]
