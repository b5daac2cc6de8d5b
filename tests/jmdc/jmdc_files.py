"""Small catalogue files in the 2017 FITS layout, written for the tests that need exact rows."""

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

#: A well-formed row; tests override what they examine. Blanks are the 2017 file's sentinels.
ROW: dict[str, Any] = {
    "ID1": "HD 1",
    "ID2": "",
    "UD_MEAS": 1.0,
    "LD_MEAS": -1.0,
    "E_LD_MEAS": -1.0,
    "BAND": "K",
    "MU_LAMBDA": np.nan,
    "METHOD": 1,
    "BANDCODE": 8,
    "NOTES": "",
    "REFERENCE": "2003A&A...397L...5S",
    "SIMBAD": "",
    "RAJ2000": "",
    "DEJ2000": "",
}
_FORMATS = {"UD_MEAS": "D", "LD_MEAS": "E", "E_LD_MEAS": "E", "MU_LAMBDA": "E", "METHOD": "I",
            "BANDCODE": "I"}  # fmt: skip


def write_fits(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` (each ``ROW`` with overrides) as a binary table like JMDC_final_lddUpdated.fits."""
    full = [ROW | row for row in rows]
    columns = []
    for name in ROW:
        values = [row[name] for row in full]
        if name in _FORMATS:
            columns.append(fits.Column(name=name, format=_FORMATS[name], array=np.array(values),
                                       null=-32768 if name == "BANDCODE" else None))  # fmt: skip
        else:
            width = max(1, *(len(value) for value in values))
            columns.append(fits.Column(name=name, format=f"{width}A", array=np.array(values)))
    fits.BinTableHDU.from_columns(columns).writeto(path)
    return path
