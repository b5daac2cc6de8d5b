"""The OiDB web application."""

from fastapi import FastAPI

from jmmc_core.app import create_service_app
from jmmc_core.database import Database
from jmmc_core.request_size import BodySizeLimit

from . import __version__
from .config import Settings
from .dependencies import OidbRuntime
from .handlers import router
from .handlers.ingest import MULTIPART_ALLOWANCE_BYTES, too_large_message
from .services.obsportal_sync import import_check


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    database = Database(settings)
    app = create_service_app(
        settings=settings,
        version=__version__,
        title="OiDB",
        database=database,
        routers=[router],
        own_home=True,  # the search page
        checks={"ingestion": import_check(database, settings.obsportal_import_max_age_hours)},
    )
    app.state.oidb = OidbRuntime(settings, database)
    # Uploads (API and page) are refused while they arrive once over the file size limit.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_file_bytes + MULTIPART_ALLOWANCE_BYTES,
        message=too_large_message(settings.max_file_bytes),
    )
    return app
