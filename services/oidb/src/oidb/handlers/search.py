"""HTTP routes of OiDB: the search API and its VOTable export."""

from fastapi import APIRouter

router = APIRouter()
