"""HTTP routes of ObsPortal, mounted under its public prefix."""

from fastapi import APIRouter

from . import api, votable, web

router = APIRouter()
router.include_router(votable.router)
router.include_router(votable.scs_router)
router.include_router(votable.csv_router)
router.include_router(api.router)
router.include_router(web.router)
