"""HTTP routes of TAP, mounted under its public prefix."""

from fastapi import APIRouter

from . import sync, uws, vosi, web

router = APIRouter()
for module in (web, vosi, sync, uws):
    router.include_router(module.router)
