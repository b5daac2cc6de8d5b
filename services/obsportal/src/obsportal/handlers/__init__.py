"""HTTP routes of ObsPortal, mounted under its public prefix."""

from fastapi import APIRouter

from . import votable

router = APIRouter()
router.include_router(votable.router)
