"""Parameters and JSON shapes of the granule search (page, ``/api/granules``, ``search.votable``).

Parameters keep the original OiDB's names and syntax (``caliblevel=1,2``,
``conesearch=<ra dec>,J2000,<radius>,<unit>``, ``observationdate=2019-01-01..2019-12-31``...).
Values arrive as bounded text and are checked by :mod:`oidb.services.search`, which names the
parameter at fault.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: No criterion needs more; longer text is refused before it reaches the database.
MAX_TEXT = 200

Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


def _text(description: str) -> Text:
    return Field(None, max_length=MAX_TEXT, description=description)


class SearchParameters(BaseModel):
    """The criteria of a granule search, paging and order (all optional)."""

    model_config = ConfigDict(extra="forbid")

    target: Text = _text(
        "Part of the target name, case-insensitive; '!' before it excludes the matches"
    )
    instrument: Text = _text("Instrument name or its beginning (GRAVITY, PIONIER...); '!' excludes")
    facility: Text = _text("Facility (array) name, e.g. VLTI; '~' for a part of it, '!' excludes")
    collection: Text = _text("Collection id; '~' for a part of it, '!' excludes")
    progid: Text = _text("Programme id, e.g. 0102.C-0519(A); '~' for a part of it, '!' excludes")
    datapi: Text = _text("Data PI; '~' for a part of the name, '!' excludes")
    proposal_subid: Text = _text("Proposal sub-identifier; '~' for a part of it, '!' excludes")
    obs_id: Text = _text("Observation identifier (ESO ARCFILE, ObsPortal exposure); '~', '!'")
    caliblevel: Text = _text("Calibration levels, comma-separated, among 0, 1, 2, 3")
    category: Text = _text("SCIENCE, CALIB or both, comma-separated")
    conesearch: Text = _text(
        "Cone: '<ra> <dec>,J2000,<radius>,<deg|arcmin|arcsec>'; ra and dec in degrees or "
        "sexagesimal ('06:45:08.9 -16:42:58'), or a star name SIMBAD resolves ('HD 58647')"
    )
    observationdate: Text = _text(
        "Observation nights 'YYYY-MM-DD..YYYY-MM-DD' (either side may be left empty)"
    )
    wavelengthband: Text = _text("Photometric bands, comma-separated (U B V R I J H K L M N Q)")
    public: Text = _text("'yes': only data anyone may download now; 'no': only embargoed data")
    page: Text = _text("Page number, from 1")
    perpage: Text = _text("Granules per page (default 25, at most 1000)")
    order: Text = _text(
        "Sort keys, comma-separated, '-' before a key sorts descending (default -t_min)"
    )


class GranuleSummary(BaseModel):
    """A granule as the search lists it."""

    id: int
    obs_collection: str
    collection_title: str
    target_name: str
    s_ra: float | None = Field(description="degrees (ICRS)")
    s_dec: float | None = Field(description="degrees (ICRS)")
    instrument_name: str | None
    instrument_mode: str | None
    facility_name: str | None
    interferometer_stations: str | None
    t_min: float | None = Field(description="MJD")
    t_max: float | None = Field(description="MJD")
    em_min: float | None = Field(description="metres")
    em_max: float | None = Field(description="metres")
    calib_level: int
    dataproduct_category: str | None
    progid: str | None
    datapi: str | None
    nb_channels: int | None
    nb_vis: int | None
    nb_vis2: int | None
    nb_t3: int | None
    data_rights: str
    obs_release_date: datetime | None
    embargoed: bool = Field(description="True while the file is reserved to its collection")


class GranuleList(BaseModel):
    """One page of a search."""

    total: int = Field(description="Granules matching the search, over all pages")
    page: int
    perpage: int
    order: str
    items: list[GranuleSummary]
