"""Everything a JMDC handler needs, built once per application and handed out by dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from jmmc_core.database import Database

from .config import Settings


@dataclass
class JmdcRuntime:
    settings: Settings
    database: Database


def get_runtime(request: Request) -> JmdcRuntime:
    return request.app.state.jmdc


RuntimeDep = Annotated[JmdcRuntime, Depends(get_runtime)]
