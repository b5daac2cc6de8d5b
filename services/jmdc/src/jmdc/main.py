"""The JMDC web application."""

from fastapi import FastAPI

from jmmc_core.app import create_service_app
from jmmc_core.database import Database

from . import __version__
from .config import Settings
from .dependencies import JmdcRuntime
from .handlers import router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    database = Database(settings)
    app = create_service_app(
        settings=settings,
        version=__version__,
        title="JMDC",
        database=database,
        routers=[router],
        own_home=True,  # the catalogue page
    )
    app.state.jmdc = JmdcRuntime(settings, database)
    return app
