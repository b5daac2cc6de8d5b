"""HTTP routes of ObsPortal, mounted under its public prefix."""

from fastapi import APIRouter

router = APIRouter()
