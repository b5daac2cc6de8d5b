"""Parameters of the search endpoints, declared once for OpenAPI and the fuzzing tier.

Values arrive as text and are checked by :mod:`obsportal.services.search`, which names the
parameter at fault; these models only declare names, meanings and lengths. Names are matched
case-insensitively on the VO routes (DALI).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: No criterion needs more; longer text is refused before it reaches the database.
MAX_TEXT = 200

Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


def _text(description: str) -> Text:
    return Field(None, max_length=MAX_TEXT, description=description)


class CriteriaParameters(BaseModel):
    """The criteria every exposure search takes (``search.votable``, exports, JSON API)."""

    ra: Text = _text("Right ascension of the cone centre, ICRS degrees [0, 360]")
    dec: Text = _text("Declination of the cone centre, ICRS degrees [-90, 90]")
    radius: Text = _text("Cone radius in arcseconds (default 30, at most 324000)")
    resolve: Text = _text(
        "Star name resolved by SIMBAD: the cone's centre instead of ra and dec, e.g. HD 58647"
    )
    exp_id: Text = _text("Exposure identifier")
    instrument: Text = _text("Instrument name, e.g. GRAVITY")
    instrument_mode: Text = _text("Instrument mode")
    interferometer: Text = _text("Interferometer name, e.g. VLTI")
    target: Text = _text(
        "Part of the target name, letters and digits only compared (hd 58647 finds HD_58647),"
        " or of its SIMBAD identifier; finds every spelling of the same star"
    )
    target_id: Text = _text("Target identifier (integer)")
    program: Text = _text("ESO programme identifier")
    obs_type: Text = _text("science or calibrator")
    mjd_from: Text = _text("Exposures starting at or after this MJD")
    mjd_to: Text = _text("Exposures starting at or before this MJD")
    date_updated_from: Text = _text("Updated at or after this ISO 8601 date")
    date_updated_to: Text = _text("Updated at or before this ISO 8601 date")


class SearchParameters(CriteriaParameters):
    """``search.votable``: a misspelt parameter is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    all_fields: Text = _text("true for every column, false (default) for ASPRO2's columns")


class ExportParameters(SearchParameters):
    serialization: Text = _text("tabledata (default) or binary2")


class ConeSearchParameters(BaseModel):
    """Simple Cone Search 1.03."""

    model_config = ConfigDict(extra="forbid")

    RA: Text = _text("Right ascension, ICRS degrees [0, 360]")
    DEC: Text = _text("Declination, ICRS degrees [-90, 90]")
    SR: Text = _text("Search radius in degrees [0, 90]; 0 returns the metadata only")
    VERB: Text = _text("1, 2 (default) or 3: how many columns")
    RESPONSEFORMAT: Text = _text("votable (the only format)")
