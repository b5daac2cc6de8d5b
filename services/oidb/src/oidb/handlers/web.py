"""HTTP routes of OiDB: the web pages."""

from fastapi import APIRouter

router = APIRouter()
