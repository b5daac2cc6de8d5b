"""The upload page's work: which collections a signed-in caller may add to, and one upload
through the ingestion every other entry point uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, BinaryIO

from jmmc_core.database import Database
from jmmc_core.errors import InvalidParameter

from ..config import Settings
from ..storage import search as storage
from ..storage.search import Ordering, SearchCriteria
from .access import Caller, writing
from .ingestion import IngestResult, ingest_file


@dataclass(frozen=True)
class UploadOutcome:
    """An ingestion's result and the granules it made (or kept), as the search lists them."""

    filename: str
    collection_id: str
    result: IngestResult
    granules: list[dict[str, Any]]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.result.report.get("messages", []))


def writable_collections(database: Database, caller: Caller) -> list[dict[str, Any]]:
    with writing(database, caller) as session:
        return storage.writable_collections(session, caller.user_id, caller.group_ids, caller.admin)


def upload(
    database: Database,
    settings: Settings,
    caller: Caller,
    *,
    collection_id: str,
    filename: str,
    stream: BinaryIO,
) -> UploadOutcome:
    """Ingest one uploaded file; NotFound/Forbidden when the collection is not the caller's
    to write. A file over the size limit is read only that far: ingestion rejects it."""
    if not collection_id.strip():
        raise InvalidParameter("collection", "choose the collection to add the file to")
    filename = PurePath(filename.replace("\\", "/")).name.strip()
    if not filename:
        raise InvalidParameter("file", "choose an OIFITS file to upload")
    content = stream.read(settings.max_file_bytes + 1)
    result = ingest_file(
        database, settings, caller, collection_id=collection_id, filename=filename, content=content
    )
    granules: list[dict[str, Any]] = []
    if result.granule_ids:
        with writing(database, caller) as session:
            granules, _ = storage.search_page(
                session,
                SearchCriteria(ids=tuple(result.granule_ids)),
                Ordering((("t_min", False),)),
                limit=len(result.granule_ids),
                offset=0,
            )
    return UploadOutcome(filename, collection_id, result, granules)
