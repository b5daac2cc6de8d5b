"""HTTP routes of JMDC: releases, their files and their differences."""

from fastapi import APIRouter

router = APIRouter()
