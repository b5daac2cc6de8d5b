"""Everything an OiDB handler needs, built once per application and handed out by dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from jmmc_core.accounts import OptionalUser
from jmmc_core.database import Database

from .config import Settings
from .services.access import Caller, caller_of


@dataclass
class OidbRuntime:
    settings: Settings
    database: Database


def get_runtime(request: Request) -> OidbRuntime:
    return request.app.state.oidb


RuntimeDep = Annotated[OidbRuntime, Depends(get_runtime)]


def get_caller(runtime: RuntimeDep, user: OptionalUser) -> Caller:
    """The request's caller: its user (if signed in), the groups holding it now, admin or not."""
    return caller_of(runtime.database, user)


CallerDep = Annotated[Caller, Depends(get_caller)]
