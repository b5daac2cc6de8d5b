"""HTTP routes of JMDC: submissions and moderation."""

from fastapi import APIRouter

router = APIRouter()
