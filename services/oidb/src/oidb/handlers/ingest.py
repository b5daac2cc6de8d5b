"""HTTP routes of OiDB: OIFITS uploads through the API."""

from fastapi import APIRouter

router = APIRouter()
