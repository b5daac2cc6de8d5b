"""Reading OIFITS files (v1 and v2) with astropy.io.fits: validation against the standard,
granules (one per target, instrument mode and night) and the points of a granule.

The ``oifits`` package (0.6.1) was evaluated and not used: it fails on 5 of the 26 real
files (a missing OI_REVN, CALSTAT or FOV is a KeyError), and builds an object per row where
this reader works on whole columns.
"""

from .granules import GranuleValues
from .points import GranuleData, granule_rows
from .reader import OifitsReading, read_oifits
from .report import ValidationMessage, ValidationReport

__all__ = [
    "GranuleData",
    "GranuleValues",
    "OifitsReading",
    "ValidationMessage",
    "ValidationReport",
    "granule_rows",
    "read_oifits",
]
