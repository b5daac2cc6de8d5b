"""Where headers come from, behind one interface.

A source yields *chunks*. A chunk is small and picklable (a list of paths, a synthetic index
range, or headers already fetched) and ``chunk.headers()`` produces the raw headers, so the
costly part (reading files, generating text) runs in the worker processes, not the parent.

Files are recognised by their content, not their name: header dumps (cards on lines), FITS
files (the primary header is read, data never), and both compressed as the ESO archive
delivers them: gzip (``.fits.gz``), Unix compress (``.fits.Z``) and fpack (``.fits.fz``, whose
primary header stays uncompressed). A file that cannot be read becomes a rejection with the
reason; the run goes on.
"""

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

import ncompress

from .cards import CARD_LENGTH, read_fits_primary_header
from .extract import RawHeader

FILES_PER_CHUNK = 200
GZIP_MAGIC = b"\x1f\x8b"
COMPRESS_MAGIC = b"\x1f\x9d"
#: What a damaged or unreadable file raises while it is read (ncompress raises ValueError).
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, tarfile.TarError)


class Chunk(Protocol):
    def headers(self) -> Iterator[RawHeader]: ...


class Source(Protocol):
    #: Recorded on the ingestion run, e.g. ``dir:/data/headers`` or ``synthetic:1000@42``.
    description: str

    def chunks(self) -> Iterator[Chunk]: ...


def read_header(stream: BinaryIO) -> bytes:
    """The header in a file's bytes, decompressed: a dump as is, or a FITS primary header."""
    start = stream.peek(CARD_LENGTH)[:CARD_LENGTH]
    if start.startswith(GZIP_MAGIC):
        return read_header(gzip.GzipFile(fileobj=stream))
    if start.startswith(COMPRESS_MAGIC):
        return read_header(io.BufferedReader(io.BytesIO(ncompress.decompress(stream))))
    if start.startswith(b"SIMPLE  =") and b"\n" not in start:
        return read_fits_primary_header(stream)
    return stream.read()


def read_header_file(path: Path) -> bytes:
    with path.open("rb") as stream:
        return read_header(stream)


def read_raw_header(name: str, open_stream) -> RawHeader:
    """One file's header, or its rejection reason when it cannot be read."""
    try:
        with open_stream() as stream:
            return RawHeader(name, read_header(stream))
    except READ_ERRORS as error:
        return RawHeader(name, b"", read_error=f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class FileChunk:
    paths: tuple[Path, ...]

    def headers(self) -> Iterator[RawHeader]:
        for path in self.paths:
            yield read_raw_header(str(path), partial(path.open, "rb"))


@dataclass(frozen=True)
class LoadedChunk:
    """Headers already in memory (tar members, archive answers)."""

    items: tuple[RawHeader, ...]

    def headers(self) -> Iterator[RawHeader]:
        yield from self.items


@dataclass(frozen=True)
class DirectorySource:
    """Every regular file under a folder (sorted), a tar archive's members, or one file.

    Nothing is skipped by name (hidden files and folders included): a file that is not a
    header is read and rejected with the reason, so a stray file never vanishes silently.
    """

    path: Path

    @property
    def description(self) -> str:
        return f"dir:{self.path}"

    @property
    def has_input(self) -> bool:
        """Whether there is anything to read: reading 0 headers from it is then a failure."""
        if self.path.is_dir():
            return any(self.path.iterdir())
        return self.path.is_file() and self.path.stat().st_size > 0

    def chunks(self) -> Iterator[Chunk]:
        if self.path.is_file():
            if tarfile.is_tarfile(self.path):
                yield from self._tar_chunks()
            else:
                yield FileChunk((self.path,))
            return
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path} is neither a folder nor a file")
        files = sorted(path for path in self.path.rglob("*") if path.is_file())
        for start in range(0, len(files), FILES_PER_CHUNK):
            yield FileChunk(tuple(files[start : start + FILES_PER_CHUNK]))

    def _tar_chunks(self) -> Iterator[Chunk]:
        batch: list[RawHeader] = []
        with tarfile.open(self.path) as archive:
            for member in archive:
                if not member.isfile():
                    continue
                name = f"{self.path}:{member.name}"
                batch.append(read_raw_header(name, partial(archive.extractfile, member)))
                if len(batch) == FILES_PER_CHUNK:
                    yield LoadedChunk(tuple(batch))
                    batch = []
        if batch:
            yield LoadedChunk(tuple(batch))
