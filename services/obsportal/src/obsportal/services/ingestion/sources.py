"""Where headers come from, behind one interface.

A source yields *chunks*. A chunk is small and picklable (a list of paths, a synthetic index
range, or headers already fetched) and ``chunk.headers()`` produces the raw headers, so the
costly part (reading files, generating text) runs in the worker processes, not the parent.
"""

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .cards import read_fits_primary_header
from .extract import RawHeader

FITS_SUFFIXES = (".fits", ".fit", ".fts")
FILES_PER_CHUNK = 200


class Chunk(Protocol):
    def headers(self) -> Iterator[RawHeader]: ...


class Source(Protocol):
    #: Recorded on the ingestion run, e.g. ``dir:/data/headers`` or ``synthetic:1000@42``.
    description: str

    def chunks(self) -> Iterator[Chunk]: ...


def read_header_file(path: Path) -> bytes:
    """A header dump as is, or the primary header of a FITS file."""
    with path.open("rb") as stream:
        if path.suffix.lower() in FITS_SUFFIXES:
            return read_fits_primary_header(stream)
        return stream.read()


@dataclass(frozen=True)
class FileChunk:
    paths: tuple[Path, ...]

    def headers(self) -> Iterator[RawHeader]:
        for path in self.paths:
            yield RawHeader(str(path), read_header_file(path))


@dataclass(frozen=True)
class LoadedChunk:
    """Headers already in memory (tar members, archive answers)."""

    items: tuple[RawHeader, ...]

    def headers(self) -> Iterator[RawHeader]:
        yield from self.items


@dataclass(frozen=True)
class DirectorySource:
    """Every regular file under a folder (sorted), or every member of a tar archive.

    Nothing is skipped by name: a file that is not a header is read and rejected with the
    reason, so a stray file in an export never vanishes silently.
    """

    path: Path

    @property
    def description(self) -> str:
        return f"dir:{self.path}"

    def chunks(self) -> Iterator[Chunk]:
        if self.path.is_file() and tarfile.is_tarfile(self.path):
            yield from self._tar_chunks()
            return
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path} is neither a folder nor a tar archive")
        files = sorted(
            path
            for path in self.path.rglob("*")
            if path.is_file() and not any(part.startswith(".") for part in path.parts)
        )
        for start in range(0, len(files), FILES_PER_CHUNK):
            yield FileChunk(tuple(files[start : start + FILES_PER_CHUNK]))

    def _tar_chunks(self) -> Iterator[Chunk]:
        batch: list[RawHeader] = []
        with tarfile.open(self.path) as archive:
            for member in archive:
                if not member.isfile():
                    continue
                stream = archive.extractfile(member)
                assert stream is not None  # regular members always have a stream
                name = f"{self.path}:{member.name}"
                data = (
                    read_fits_primary_header(stream)
                    if member.name.lower().endswith(FITS_SUFFIXES)
                    else stream.read()
                )
                batch.append(RawHeader(name, data))
                if len(batch) == FILES_PER_CHUNK:
                    yield LoadedChunk(tuple(batch))
                    batch = []
        if batch:
            yield LoadedChunk(tuple(batch))
