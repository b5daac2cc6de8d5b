"""HTTP routes of JMDC: the catalogue, per-star pages and exports."""

from fastapi import APIRouter

router = APIRouter()
