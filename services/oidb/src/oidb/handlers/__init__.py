"""HTTP routes of OiDB, mounted under its public prefix."""

from fastapi import APIRouter

router = APIRouter()
