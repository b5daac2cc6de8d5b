"""Submitted OIFITS files: their rows, and where accepted files' bytes live (a
content-addressed folder keyed by each file's MD5).

A file is written under a temporary name in its final folder, flushed to disk and renamed, so a
crash never leaves a half-written file under a final name, and two writers of the same bytes
end with the same single file.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..schema import OifitsFile


def md5_of(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def file_path(settings: Settings, md5: str) -> Path:
    """The path of the stored file with this MD5 (fanned out by its first two hex digits)."""
    return settings.files_dir / md5[:2] / f"{md5}.fits"


def store_file(settings: Settings, content: bytes) -> tuple[str, Path]:
    """Store ``content`` under its MD5 (once) and answer the MD5 and the final path."""
    md5 = md5_of(content)
    final = file_path(settings, md5)
    if final.is_file() and final.stat().st_size == len(content):
        return md5, final
    final.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=final.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(final.parent)
    return md5, final


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def lock_file_name(session: Session, collection_id: str, filename: str) -> None:
    """Serialise, until the transaction ends, the submissions of one name to one collection."""
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{collection_id}/{filename}", 0)))
    )


def accepted_file(
    session: Session, collection_id: str, *, filename: str | None = None, md5: str | None = None
) -> OifitsFile | None:
    """The accepted file of the collection with this name, or holding these bytes."""
    query = select(OifitsFile).where(
        OifitsFile.collection_id == collection_id, OifitsFile.state == "accepted"
    )
    if filename is not None:
        query = query.where(OifitsFile.filename == filename)
    if md5 is not None:
        query = query.where(OifitsFile.md5 == md5)
    return session.scalars(query.order_by(OifitsFile.id.desc()).limit(1)).first()


def rejected_file(
    session: Session, collection_id: str, filename: str, md5: str
) -> OifitsFile | None:
    """The latest refusal of exactly these bytes under this name, if they were refused."""
    query = select(OifitsFile).where(
        OifitsFile.collection_id == collection_id,
        OifitsFile.filename == filename,
        OifitsFile.md5 == md5,
        OifitsFile.state == "rejected",
    )
    return session.scalars(query.order_by(OifitsFile.id.desc()).limit(1)).first()


def add_file(session: Session, **values: object) -> OifitsFile:
    row = OifitsFile(**values)
    session.add(row)
    session.flush()
    return row


def get_file(session: Session, file_id: int) -> OifitsFile | None:
    return session.get(OifitsFile, file_id)
