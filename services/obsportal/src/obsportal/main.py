"""The ObsPortal web application."""

from datetime import timedelta

from fastapi import FastAPI

from jmmc_core.app import create_service_app
from jmmc_core.database import Database

from . import __version__
from .config import Settings
from .handlers import router
from .services.ingestion.health import ingestion_check


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    database = Database(settings)
    max_age = timedelta(hours=settings.ingestion_max_age_hours)
    return create_service_app(
        settings=settings,
        version=__version__,
        title="ObsPortal",
        database=database,
        routers=[router],
        checks={"ingestion": ingestion_check(database, max_age)},
        own_home=True,  # the search page
    )
