"""ESO's TAP service (``dbo.raw``) as a source: new interferometric raw frames, then their headers.

The archive lists raw frames in ``dbo.raw`` with the date each record last changed
(``last_mod_date``). A harvest asks for the VLTI interferometric frames (``dp_tech``
INTERFEROMETRY, science and calibrators) of the chosen instruments changed after a date, oldest
change first, a page at a time; the next run resumes after the newest change it read (the run's
watermark). Full headers come from ESO's header service, one page per ``dp_id``
(``https://archive.eso.org/hdr?DpId=<dp_id>``, the header as text in a ``<pre>`` block), and go
through the same reader, rules and validation as header dumps. The programme title, PI and
release date come from the TAP row.

Headers are fetched by the worker processes (a chunk carries the rows, not the headers), so a
run downloads as many headers at once as it has workers. Anything unexpected from the archive (no
answer, an HTTP error, a document that is not a TAP answer, a header page without a header)
fails the run: nothing of it is reported as harvested and the next run asks again.
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy
import pyvo
from pyvo.dal import DALQueryError, DALServiceError

from ...config import Settings
from ...storage.ingestion import connect, last_watermark
from .extract import RawHeader

#: Rows asked per TAP query; a full page means there may be more.
PAGE_SIZE = 5000
HEADERS_PER_CHUNK = 20
TIMEOUT_SECONDS = 60.0
SOURCE_PREFIX = "eso-tap:"
#: The first VLTI fringes: where a first harvest starts.
FIRST_HARVEST = datetime(2001, 1, 1, tzinfo=UTC)
RAW_COLUMNS = ("dp_id", "instrument", "last_mod_date", "release_date", "prog_title", "pi_coi")
_PRE = re.compile(r"<pre[^>]*>(.*?)</pre>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_INSTRUMENT = re.compile(r"[A-Z][A-Z0-9_]*")


class ArchiveError(RuntimeError):
    """The archive did not answer, or answered something that is not what was asked."""


def raw_frames_query(
    instruments: list[str], since: datetime, page_size: int, after: bool = False
) -> str:
    """The ADQL asking ``dbo.raw`` for interferometric frames changed since ``since`` (at that
    instant included, unless ``after``)."""
    names = ", ".join(f"'{name}'" for name in instruments)
    moment = since.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    return (
        f"SELECT TOP {page_size} {', '.join(RAW_COLUMNS)} FROM dbo.raw"
        f" WHERE instrument IN ({names}) AND dp_tech LIKE 'INTERFEROMETRY%'"
        " AND dp_cat IN ('SCIENCE', 'CALIB')"
        f" AND last_mod_date {'>' if after else '>='} '{moment}'"
        " ORDER BY last_mod_date, dp_id"
    )


@dataclass(frozen=True)
class ArchiveRow:
    dp_id: str
    last_mod_date: datetime
    release_date: datetime | None
    prog_title: str | None
    pi_coi: str | None

    def archive_metadata(self) -> dict[str, Any]:
        return {
            "release_date": self.release_date,
            "prog_title": self.prog_title,
            "pi_coi": self.pi_coi,
        }


@dataclass(frozen=True)
class HeaderFetchChunk:
    """Frames whose headers a worker fetches from the header service."""

    header_url: str
    rows: tuple[ArchiveRow, ...]

    def headers(self) -> Iterator[RawHeader]:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as client:
            for row in self.rows:
                yield RawHeader(
                    f"{SOURCE_PREFIX}{row.dp_id}",
                    fetch_header(client, self.header_url, row.dp_id),
                    row.archive_metadata(),
                )


def fetch_header(client: httpx.Client, header_url: str, dp_id: str) -> bytes:
    """The primary header of ``dp_id`` as card lines, from the header service's page."""
    try:
        response = client.get(header_url, params={"DpId": dp_id})
    except httpx.HTTPError as error:
        raise ArchiveError(f"ESO header service {header_url} did not answer ({error})") from None
    if response.status_code != 200:
        raise ArchiveError(
            f"ESO header service {header_url} answered HTTP {response.status_code} for {dp_id}"
        )
    block = _PRE.search(response.text)
    if block is None:
        raise ArchiveError(f"ESO header service {header_url} sent no header for {dp_id}")
    text = html.unescape(_TAG.sub("", block.group(1)))
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    # The page holds every HDU's header: the primary one ends at the first END card.
    end = next((index for index, line in enumerate(lines) if line == "END"), len(lines))
    cards = [line.ljust(80) for line in lines[: end + 1]]
    return "\n".join(cards).encode("ascii", "replace") + b"\n"


class EsoTapSource:
    """New frames of ``instruments`` in ``dbo.raw`` since ``since``."""

    def __init__(
        self,
        settings: Settings,
        instruments: list[str],
        since: datetime,
        *,
        after: bool = False,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.tap_url = settings.eso_tap_url
        self.header_url = settings.eso_header_url
        self.instruments = sorted({name.upper() for name in instruments})
        for name in self.instruments:
            if not _INSTRUMENT.fullmatch(name):
                raise ValueError(f"--instrument {name!r} is not an instrument name")
        self.since = since
        #: Resuming from a watermark: frames changed at that very instant were read already.
        self.after = after
        self.page_size = page_size
        self.watermark: datetime | None = None

    @property
    def description(self) -> str:
        return source_description(self.instruments)

    def chunks(self) -> Iterator[HeaderFetchChunk]:
        seen: set[str] = set()
        since, after = self.since, self.after
        while True:
            rows = self._page(since, after)
            # Frames changed at the page's last instant are asked again with the next page.
            new = [row for row in rows if row.dp_id not in seen]
            seen.update(row.dp_id for row in new)
            for start in range(0, len(new), HEADERS_PER_CHUNK):
                yield HeaderFetchChunk(
                    self.header_url, tuple(new[start : start + HEADERS_PER_CHUNK])
                )
            if rows:
                self.watermark = max(
                    self.watermark or rows[-1].last_mod_date, rows[-1].last_mod_date
                )
            if len(rows) < self.page_size:
                return
            if not new:
                raise ArchiveError(
                    f"more than {self.page_size} frames changed at {since.isoformat()}:"
                    " cannot page through them"
                )
            since, after = rows[-1].last_mod_date, False

    def _page(self, since: datetime, after: bool) -> list[ArchiveRow]:
        query = raw_frames_query(self.instruments, since, self.page_size, after)
        service = pyvo.dal.TAPService(self.tap_url)
        try:
            table = service.run_sync(query, maxrec=self.page_size).to_table()
        except DALQueryError as error:
            raise ArchiveError(
                f"ESO TAP {self.tap_url} refused the query: {_first_line(error)}"
            ) from None
        except Exception as error:  # pyvo's errors, or a parser's on a document that is no VOTable
            raise ArchiveError(f"ESO TAP {self.tap_url} {_trouble(error)}") from None
        missing = [name for name in RAW_COLUMNS if name not in table.colnames]
        if missing:
            raise ArchiveError(f"ESO TAP {self.tap_url} answered without {', '.join(missing)}")
        return [_archive_row(row) for row in table]


def _archive_row(row) -> ArchiveRow:
    return ArchiveRow(
        dp_id=_text(row["dp_id"]) or "",
        last_mod_date=_moment(row["last_mod_date"]) or FIRST_HARVEST,
        release_date=_moment(row["release_date"]),
        prog_title=_text(row["prog_title"]),
        pi_coi=_text(row["pi_coi"]),
    )


def _text(value: Any) -> str | None:
    if value is None or value is numpy.ma.masked:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.strip() or None


def _moment(value: Any) -> datetime | None:
    """A TAP timestamp (``2020-01-27T03:39:22.003`` or with a space, UTC) as a datetime."""
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArchiveError(f"ESO TAP sent {text!r} where a date was expected") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _trouble(error: Exception) -> str:
    """What went wrong with a TAP request, in words (pyvo wraps a refused connection as a
    format error, with the network error as its cause)."""
    if isinstance(getattr(error, "cause", None), OSError):
        return "did not answer"
    if isinstance(error, DALServiceError) and getattr(error, "code", None):
        return f"answered HTTP {error.code}"
    return "sent an answer that is not a VOTable"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def source_description(instruments: list[str]) -> str:
    return SOURCE_PREFIX + ",".join(sorted(instruments))


def eso_tap_source(
    settings: Settings, instruments: list[str], since: datetime | None
) -> EsoTapSource:
    """A harvest from ``since`` (UTC) or, without it, from where the last successful one
    stopped. A harvest of several instruments covers each of them, so a run also resumes after
    a succeeded run whose sorted instrument names start with its own."""
    if since is not None:
        return EsoTapSource(settings, instruments, since.replace(tzinfo=since.tzinfo or UTC))
    with connect(settings) as connection:
        watermark = last_watermark(connection, source_description(instruments))
    if watermark is None:
        return EsoTapSource(settings, instruments, FIRST_HARVEST)
    return EsoTapSource(settings, instruments, watermark, after=True)
