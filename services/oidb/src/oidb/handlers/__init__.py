"""HTTP routes of OiDB, mounted under its public prefix."""

from fastapi import APIRouter

from . import collections, datalink, ingest, search, web

router = APIRouter()
for module in (web, search, collections, ingest, datalink):
    router.include_router(module.router)
