"""HTTP routes of TAP, mounted under its public prefix."""

from fastapi import APIRouter

router = APIRouter()
