"""HTTP routes of OiDB: DataLink, file downloads and quick-look previews."""

from fastapi import APIRouter

router = APIRouter()
