"""SQLAlchemy models of JMDC; every table lives in the ``jmdc`` schema."""

from sqlalchemy.orm import DeclarativeBase

from jmmc_core.database import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("jmdc")


from .catalogue import (  # noqa: E402 - the models register on Base
    ImportRun,
    Measurement,
    MeasurementValues,
    NameResolution,
    Notification,
    Release,
    ReleaseEntry,
    Submission,
    SubmissionEvent,
)

__all__ = [
    "Base",
    "ImportRun",
    "Measurement",
    "MeasurementValues",
    "NameResolution",
    "Notification",
    "Release",
    "ReleaseEntry",
    "Submission",
    "SubmissionEvent",
]
