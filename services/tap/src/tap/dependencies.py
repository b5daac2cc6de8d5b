"""Everything a TAP handler needs, built once per application and handed out by dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from jmmc_core.accounts import OptionalUser
from jmmc_core.database import Database

from .config import Settings
from .services.catalog import CatalogCache
from .services.rights import Caller, caller_of


@dataclass
class TapRuntime:
    settings: Settings
    #: The service's own schema (jobs); never used for user queries.
    database: Database
    #: Read-only, as the TAP reader: user queries and TAP_SCHEMA.
    query_engine: Engine
    catalog: CatalogCache


def get_runtime(request: Request) -> TapRuntime:
    return request.app.state.tap


RuntimeDep = Annotated[TapRuntime, Depends(get_runtime)]


def get_caller(request: Request, user: OptionalUser, runtime: RuntimeDep) -> Caller:
    client = f"user:{user.id}" if user is not None else f"address:{request.client.host}"
    return caller_of(runtime.database, user, client)


CallerDep = Annotated[Caller, Depends(get_caller)]
