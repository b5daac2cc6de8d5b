"""TAP routes: uws (filled in by its owner)."""

from fastapi import APIRouter

from jmmc_core.errors import DaliRoute

router = APIRouter(route_class=DaliRoute)
