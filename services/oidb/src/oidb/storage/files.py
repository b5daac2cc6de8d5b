"""Where accepted OIFITS files live: a content-addressed folder keyed by each file's MD5.

A file is written under a temporary name in its final folder, flushed to disk and renamed, so a
crash never leaves a half-written file under a final name, and two writers of the same bytes
end with the same single file.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from ..config import Settings


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
