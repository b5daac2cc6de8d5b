"""HTTP routes of OiDB: collections and their rights."""

from fastapi import APIRouter

router = APIRouter()
