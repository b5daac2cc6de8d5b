"""The ESO archive as a source, through astroquery (pinned 0.4.11, the WDB-era API).

The list of interferometric raw frames comes from ``Eso.query_instrument`` (``dp_tech`` =
INTERFEROMETRY, observed since a date); full headers from ``Eso.get_headers``, whose table
rows are rendered back into cards so archive headers go through exactly the same reader,
rules and validation as header dumps. The run's watermark is the newest observation date
listed; the next run resumes one day before it (re-reading a little is harmless: loading is
idempotent). astroquery 0.4.11 has no TAP, so the archive's ``last_mod_date`` is not
available to filter on; ``eso_tap.py`` (``--from-eso-tap``) harvests ``dbo.raw`` on it.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
from astroquery.eso import Eso, EsoClass

from jmmc_core.settings import ServiceSettings

from ...storage.ingestion import connect, last_watermark
from .extract import RawHeader
from .sources import LoadedChunk
from .synthetic import card

HEADERS_PER_CHUNK = 50
RESUME_OVERLAP = timedelta(days=1)
#: Where a first harvest starts: the first VLTI fringes.
FIRST_HARVEST = datetime(2001, 1, 1, tzinfo=UTC)


class EsoArchiveSource:
    def __init__(
        self, instruments: list[str], since: datetime, eso: EsoClass | None = None
    ) -> None:
        self.instruments = [name.upper() for name in instruments]
        self.since = since
        self.eso = eso or Eso()
        self.eso.ROW_LIMIT = -1  # every row, not astroquery's default 50
        self.watermark: datetime | None = None

    @property
    def description(self) -> str:
        return f"eso:{','.join(self.instruments)}"

    def chunks(self) -> Iterator[LoadedChunk]:
        for instrument in self.instruments:
            table = self.eso.query_instrument(
                instrument.lower(),
                column_filters={"dp_tech": "INTERFEROMETRY", "stime": f"{self.since:%Y-%m-%d}"},
                cache=False,
            )
            if table is None:
                continue
            dp_ids = [str(dp_id) for dp_id in table["DP.ID"]]
            self._advance_watermark(dp_ids)
            for start in range(0, len(dp_ids), HEADERS_PER_CHUNK):
                headers = self.eso.get_headers(dp_ids[start : start + HEADERS_PER_CHUNK])
                yield LoadedChunk(tuple(_raw_header(row) for row in headers))

    def _advance_watermark(self, dp_ids: list[str]) -> None:
        for dp_id in dp_ids:
            observed = datetime.fromisoformat(dp_id.split(".", 1)[1]).replace(tzinfo=UTC)
            if self.watermark is None or observed > self.watermark:
                self.watermark = observed


def _raw_header(row) -> RawHeader:
    cards = [card("SIMPLE", True)]
    for name in row.colnames:
        value = row[name]
        if name in ("DP.ID", "SIMPLE") or value is np.ma.masked:
            continue
        keyword = name.removeprefix("HIERARCH ESO ")
        cards.append(card(keyword, value.item() if hasattr(value, "item") else value))
    text = "\n".join(cards) + "\n" + "END".ljust(80) + "\n"
    return RawHeader(f"eso:{row['DP.ID']}", text.encode("ascii", "replace"))


def eso_source(
    settings: ServiceSettings, instruments: list[str], since: datetime | None
) -> EsoArchiveSource:
    if since is None:
        with connect(settings) as connection:
            watermark = last_watermark(connection, "eso:")
        since = watermark - RESUME_OVERLAP if watermark else FIRST_HARVEST
    return EsoArchiveSource(list(instruments), since)
