"""SQLAlchemy models of ObsPortal; every table lives in the ``obsportal`` schema.

The catalogue (programmes, targets, observations, exposures) is built by ingestion from ESO
headers; the bookkeeping tables (ingestion runs, rejects, excluded headers) say what each
run did with every header it read.
"""

from sqlalchemy.orm import DeclarativeBase

from jmmc_core.database import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("obsportal")


from .catalogue import Exposure, NameResolution, Observation, Program, Target  # noqa: E402 - needs Base
from .ingestion import ExcludedHeader, IngestionRun, Reject  # noqa: E402 - needs Base

__all__ = [
    "Base",
    "ExcludedHeader",
    "Exposure",
    "IngestionRun",
    "NameResolution",
    "Observation",
    "Program",
    "Reject",
    "Target",
]
