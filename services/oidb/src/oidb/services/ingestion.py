"""OIFITS ingestion: one submitted file becomes a file row (accepted or rejected, with its
validation report) and, when accepted, its granules, in one transaction.

The same bytes submitted again change nothing; new bytes under the name of an accepted file of
the collection replace that version: the old row becomes ``replaced`` and its granules give way
to the new ones in the same transaction, so a reader sees one version or the other. A refused
new version leaves the accepted one in place. The CLI, the upload page and the API all call
:func:`ingest_file`.
"""

import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from jmmc_core.database import Database
from jmmc_core.errors import InvalidParameter, NotFound

from ..config import Settings
from ..schema import Collection, OifitsFile
from ..storage import files as file_storage
from ..storage import granules as granule_storage
from .access import Caller, reading, require_write, writing
from .collections import ensure_collection
from .datalink import datalink_url
from .embargo import data_rights_for, release_date
from .identifiers import publisher_did
from .oifits import read_oifits

logger = logging.getLogger(__name__)

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


#: Longest file name kept (a path relative to the folder the CLI was given, or a bare name).
MAX_FILENAME = 255


def size_limit_reason(settings: Settings) -> str:
    return f"the file is larger than the limit of {settings.max_file_bytes:,} bytes"


def clean_filename(filename: str) -> str:
    """The name a file is kept under; InvalidParameter when it cannot be one."""
    name = filename.replace("\\", "/").strip().strip("/")
    if not name:
        raise InvalidParameter("filename", "a file name is required")
    if len(name) > MAX_FILENAME:
        raise InvalidParameter("filename", f"at most {MAX_FILENAME} characters")
    if not name.isprintable():
        raise InvalidParameter("filename", "control characters are not allowed")
    return name


@dataclass(frozen=True)
class FileRecord:
    """A submitted file as stored, with the ids of its granules."""

    file: OifitsFile
    granule_ids: list[int]


def file_record(database: Database, caller: Caller, file_id: int) -> FileRecord:
    """A file the caller can see (NotFound otherwise, private collections included)."""
    with reading(database, caller) as session:
        row = file_storage.get_file(session, file_id)
        if row is None:
            raise NotFound(f"no file {file_id}")
        return FileRecord(row, granule_storage.granule_ids_of_file(session, file_id))


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
    filename = clean_filename(filename)
    md5 = file_storage.md5_of(content)
    # Rights and known bytes first: a refused caller or a re-run costs no parsing. Both are
    # checked again, under the name's lock, where rows are written.
    with writing(database, caller) as session:
        require_write(session, caller, collection_id)
        known = _known(session, collection_id, filename, md5)
    if known is not None:
        return known
    if len(content) > settings.max_file_bytes:
        reason = size_limit_reason(settings)
        report = {"oifits_version": None, "messages": [_file_error(reason)]}
        return _reject(database, caller, collection_id, filename, content, md5, reason, report)
    parsed = read_oifits(content, filename=filename)
    report = parsed.report.as_json()
    if parsed.rejected:
        reason = parsed.reject_reason or "the file is not a usable OIFITS file"
        return _reject(database, caller, collection_id, filename, content, md5, reason, report,
                       parsed.header)  # fmt: skip
    with writing(database, caller) as session:
        collection = require_write(session, caller, collection_id)
        file_storage.lock_file_name(session, collection_id, filename)
        if (known := _known(session, collection_id, filename, md5)) is not None:
            return known
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
            header=parsed.header,
            submitted_by=caller.user_id,
        )
        granules = [granule.as_row() for granule in parsed.granules]
        ids = granule_storage.reserve_granule_ids(session, len(granules))
        rows = [
            _file_granule(settings, collection, row.id, md5, len(content), granule_id, values)
            for granule_id, values in zip(ids, granules, strict=True)
        ]
        granule_storage.insert_granules(session, rows)
        return IngestResult(row.id, "accepted", ids, report)


def _known(session: Session, collection_id: str, filename: str, md5: str) -> IngestResult | None:
    """What became of these bytes before: accepted in the collection (under any name), or
    refused under this name."""
    same = file_storage.accepted_file(session, collection_id, md5=md5)
    if same is not None:
        granule_ids = granule_storage.granule_ids_of_file(session, same.id)
        return IngestResult(same.id, "unchanged", granule_ids, same.report)
    refused = file_storage.rejected_file(session, collection_id, filename, md5)
    if refused is not None:
        return IngestResult(refused.id, "rejected", [], refused.report, refused.reject_reason)
    return None


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
        if (known := _known(session, collection_id, filename, md5)) is not None:
            return known
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
            submitted_by=caller.user_id,
        )
        return IngestResult(row.id, "rejected", [], row.report, row.reject_reason)


def _file_error(message: str) -> dict[str, Any]:
    return {"severity": "error", "hdu": None, "message": message}


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


@dataclass
class IngestRun:
    """The outcome of ingesting many files: counts by state, refusals by reason."""

    given: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    #: Files that could not be opened (path: why).
    unreadable: dict[str, str] = field(default_factory=dict)
    granules: int = 0

    @property
    def read(self) -> int:
        return self.given - len(self.unreadable)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    @property
    def succeeded(self) -> bool:
        """Something usable was read, or there was nothing to read."""
        return self.given == 0 or self.accepted + self.unchanged > 0

    def add(self, result: IngestResult) -> None:
        if result.state == "rejected":
            self.rejected_by_reason[result.reject_reason or "rejected"] += 1
        else:
            setattr(self, result.state, getattr(self, result.state) + 1)
            self.granules += len(result.granule_ids)


def files_under(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Every file of ``paths`` (folders recursed, hidden entries skipped) with the name it is
    kept under: its path relative to the folder given, or its own name."""
    for path in paths:
        if not path.is_dir():
            yield path, path.name
            continue
        for found in sorted(path.rglob("*")):
            relative = found.relative_to(path)
            if found.is_file() and not any(part.startswith(".") for part in relative.parts):
                yield found, relative.as_posix()


def ingest_files(
    database: Database,
    settings: Settings,
    caller: Caller,
    collection_id: str,
    files: Iterable[tuple[Path | bytes, str]],
) -> IngestRun:
    """Ingest each file (a path or its bytes, and its name); one bad file never stops the run.
    NotFound/Forbidden when the caller may not write the collection."""
    check_writable(database, caller, collection_id)
    run = IngestRun()
    for source, name in files:
        run.given += 1
        try:
            content = source.read_bytes() if isinstance(source, Path) else source
        except OSError as error:
            run.unreadable[name] = error.strerror or type(error).__name__
            continue
        result = ingest_file(
            database, settings, caller, collection_id=collection_id, filename=name, content=content
        )
        logger.info(
            "%s: %s%s",
            name,
            result.state,
            f" ({result.reject_reason})" * bool(result.reject_reason),
        )
        run.add(result)
    return run


def ensure_collection_exists(
    database: Database, collection_id: str, title: str, coltype: str
) -> None:
    """For ``oidb ingest --create-collection``: a public collection of the platform."""
    with writing(database, PLATFORM) as session:
        ensure_collection(session, collection_id, title, coltype)
