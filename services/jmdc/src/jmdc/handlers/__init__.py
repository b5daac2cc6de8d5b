"""HTTP routes of JMDC, mounted under its public prefix."""

from fastapi import APIRouter

router = APIRouter()
