"""Everything an OiDB handler needs, built once per application and handed out by dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from jmmc_core.database import Database

from .config import Settings


@dataclass
class OidbRuntime:
    settings: Settings
    database: Database


def get_runtime(request: Request) -> OidbRuntime:
    return request.app.state.oidb


RuntimeDep = Annotated[OidbRuntime, Depends(get_runtime)]
