"""OIFITS ingestion: one submitted file becomes a file row (accepted or rejected, with its
validation report) and, when accepted, its granules, in one transaction.

The same bytes submitted again change nothing; new bytes under the name of an accepted file of
the collection replace that version: the old row becomes ``replaced`` and its granules give way
to the new ones in the same transaction, so a reader sees one version or the other. A refused
new version leaves the accepted one in place. The CLI, the upload page and the API all call
:func:`ingest_file`.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from jmmc_core.database import Database

from ..config import Settings
from ..schema import Collection
from ..storage import files as file_storage
from ..storage import granules as granule_storage
from .access import Caller, require_write, writing
from .datalink import datalink_url
from .embargo import data_rights_for, release_date
from .identifiers import publisher_did
from .oifits import read_oifits

#: ObsCore ``access_format`` of a granule whose ``access_url`` is its DataLink document.
DATALINK_FORMAT = "application/x-votable+xml;content=datalink"

#: The platform itself, as the CLI, the demo and the ObsPortal import act: an admin.
PLATFORM = Caller(None, admin=True)

IngestState = Literal["accepted", "rejected", "unchanged"]


@dataclass(frozen=True)
class IngestResult:
    """What became of one submitted file."""

    file_id: int
    state: IngestState
    granule_ids: list[int] = field(default_factory=list)
    #: The validation report (``{"oifits_version", "messages": [...]}``).
    report: dict[str, Any] = field(default_factory=dict)
    reject_reason: str | None = None


def size_limit_reason(settings: Settings) -> str:
    return f"the file is larger than the limit of {settings.max_file_bytes:,} bytes"


def check_writable(database: Database, caller: Caller, collection_id: str) -> None:
    """NotFound for an invisible collection, Forbidden when the caller may not add to it."""
    with writing(database, caller) as session:
        require_write(session, caller, collection_id)


def ingest_file(
    database: Database,
    settings: Settings,
    caller: Caller,
    *,
    collection_id: str,
    filename: str,
    content: bytes,
) -> IngestResult:
    """Ingest one OIFITS file into a collection the caller may write."""
    # Rights first, so a refused caller costs no parsing; checked again where rows are written.
    check_writable(database, caller, collection_id)
    md5 = file_storage.md5_of(content)
    if len(content) > settings.max_file_bytes:
        return _reject(database, caller, collection_id, filename, content, md5,
                       size_limit_reason(settings), {})  # fmt: skip
    reading = read_oifits(content, filename=filename)
    report = reading.report.as_json()
    if reading.rejected:
        reason = reading.reject_reason or "the file is not a usable OIFITS file"
        return _reject(database, caller, collection_id, filename, content, md5, reason, report,
                       reading.header)  # fmt: skip
    with writing(database, caller) as session:
        collection = require_write(session, caller, collection_id)
        file_storage.lock_file_name(session, collection_id, filename)
        same = file_storage.accepted_file(session, collection_id, md5=md5)
        if same is not None:
            return IngestResult(
                same.id, "unchanged", granule_storage.granule_ids_of_file(session, same.id),
                same.report,
            )  # fmt: skip
        previous = file_storage.accepted_file(session, collection_id, filename=filename)
        if previous is not None:
            previous.state = "replaced"
            granule_storage.delete_file_granules(session, previous.id)
            session.flush()  # the name is free for the new version (unique among accepted)
        file_storage.store_file(settings, content)
        row = file_storage.add_file(
            session,
            collection_id=collection_id,
            filename=filename,
            md5=md5,
            size_bytes=len(content),
            state="accepted",
            report=report,
            header=reading.header,
            submitted_by=_user_id(caller),
        )
        granules = [granule.as_row() for granule in reading.granules]
        ids = granule_storage.reserve_granule_ids(session, len(granules))
        rows = [
            _file_granule(settings, collection, row.id, md5, len(content), granule_id, values)
            for granule_id, values in zip(ids, granules, strict=True)
        ]
        granule_storage.insert_granules(session, rows)
        return IngestResult(row.id, "accepted", ids, report)


def _reject(
    database: Database,
    caller: Caller,
    collection_id: str,
    filename: str,
    content: bytes,
    md5: str,
    reason: str,
    report: dict[str, Any],
    header: dict[str, Any] | None = None,
) -> IngestResult:
    """Keep the refusal and its reason (once per name and bytes: a re-run adds nothing)."""
    with writing(database, caller) as session:
        require_write(session, caller, collection_id)
        file_storage.lock_file_name(session, collection_id, filename)
        row = file_storage.rejected_file(session, collection_id, filename, md5)
        if row is None:
            row = file_storage.add_file(
                session,
                collection_id=collection_id,
                filename=filename,
                md5=md5,
                size_bytes=len(content),
                state="rejected",
                reject_reason=reason,
                report=report,
                header=header or {},
                submitted_by=_user_id(caller),
            )
        return IngestResult(row.id, "rejected", [], row.report, row.reject_reason)


def _file_granule(
    settings: Settings,
    collection: Collection,
    file_id: int,
    md5: str,
    size_bytes: int,
    granule_id: int,
    values: dict[str, Any],
) -> dict[str, Any]:
    """A granule row: the file's values plus what the catalogue adds (identity, access,
    rights)."""
    did = publisher_did(granule_id)
    released = release_date(
        collection.coltype,
        collection.release_date,
        values.get("t_max"),
        values.get("dataproduct_category"),
    )
    return {
        **values,
        "id": granule_id,
        "obs_collection": collection.id,
        "file_id": file_id,
        "obs_publisher_did": did,
        "access_url": datalink_url(settings, did),
        "access_format": DATALINK_FORMAT,
        "access_estsize": math.ceil(size_bytes / 1024),
        "access_md5": md5,
        "obs_release_date": released,
        "data_rights": data_rights_for(released),
        "datapi": values.get("datapi") or collection.datapi,
    }


def _user_id(caller: Caller) -> int | None:
    return caller.user.id if caller.user is not None else None
