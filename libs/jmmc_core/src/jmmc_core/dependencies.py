"""What a handler needs, as FastAPI dependencies: handlers never reach into ``app.state``.

``create_service_app`` stores the service's settings and database once; these dependencies
are the one place that knows where, so a handler declares ``engine: EngineDep`` and tests
can override ``get_database`` like any dependency.
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from .database import Database
from .settings import ServiceSettings


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_engine(database: Annotated[Database, Depends(get_database)]) -> Engine:
    return database.engine


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
EngineDep = Annotated[Engine, Depends(get_engine)]
