"""HTTP routes of JMDC, mounted under its public prefix."""

from fastapi import APIRouter

from . import catalogue, releases, submissions

router = APIRouter()
for module in (catalogue, submissions, releases):
    router.include_router(module.router)
