"""The JMDC web application."""

from fastapi import FastAPI

from jmmc_core.app import create_service_app
from jmmc_core.database import Database
from jmmc_core.request_size import BodySizeLimit

from . import __version__
from .config import Settings
from .dependencies import JmdcRuntime
from .handlers import router

#: Room for a multipart body's boundaries and headers around the largest batch file.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


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
    # Batch files are refused while they arrive once over their limit, never spooled whole.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_batch_bytes + MULTIPART_ALLOWANCE_BYTES,
        message=f"file: larger than {settings.max_batch_bytes} bytes",
    )
    return app
