"""``read_oifits``: bytes in, a validation report and granules out, never an exception."""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.io import fits

from .document import OifitsDocument, parse
from .granules import GranuleValues, extract_granules, file_facts
from .report import ValidationReport

logger = logging.getLogger(__name__)

FITS_BLOCK = 2880
#: What astropy raises on damaged or truncated files.
UNREADABLE = (OSError, ValueError, TypeError, KeyError, IndexError, fits.VerifyError)
#: Primary-header keywords kept with the file (for its pages and for later re-extraction).
HEADER_FACTS = (
    "CONTENT", "ARCFILE", "ORIGFILE", "TELESCOP", "INSTRUME", "OBJECT", "DATE-OBS", "MJD-OBS",
    "OBSERVER", "PROCSOFT", "REFERENC", "ESO OBS PROG ID", "OBS PROG ID", "ESO OBS TARG NAME",
    "ESO OBS PI-COI NAME", "ESO PRO SCIENCE", "ESO PRO CATG", "ESO PRO REC1 PIPE ID",
    "ESO DPR CATG", "ESO DPR TYPE", "ESO DPR TECH", "SPICADB-ID", "QUALITY LEVEL",
)  # fmt: skip


@dataclass
class OifitsReading:
    """What one file gave: its report, its granules (none when rejected), header facts."""

    report: ValidationReport
    granules: list[GranuleValues] = field(default_factory=list)
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def oifits_version(self) -> int | None:
        return self.report.oifits_version

    @property
    def rejected(self) -> bool:
        return bool(self.report.errors)

    @property
    def reject_reason(self) -> str | None:
        """The first error, with how many more: what a person fixes first."""
        errors = self.report.errors
        if not errors:
            return None
        others = len(errors) - 1
        more = f" (and {others} more error{'s' if others > 1 else ''})" if others else ""
        return errors[0].message + more


def read_oifits(source: Path | bytes, *, filename: str) -> OifitsReading:
    """Read, validate and split one OIFITS file (v1 or v2) into granules.

    ``filename`` names the file in messages. A file that is not FITS, not OIFITS, damaged
    or truncated comes back rejected, its reason in words a person can act on.
    """
    report = ValidationReport()
    reading = OifitsReading(report)
    content = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not content.startswith(b"SIMPLE  ="):
        report.error(None, f"{filename} is not a FITS file (it does not start with SIMPLE =)")
        return reading
    whole_blocks = len(content) % FITS_BLOCK == 0
    if not whole_blocks:
        report.warning(
            None,
            f"the file's size ({len(content)} bytes) is not a multiple of 2880 bytes: it may "
            "be truncated",
        )
    try:
        with opened(content, report) as hdus:
            reading.header = header_facts(hdus[0].header)
            document = parse(hdus, report)
            if document is not None:
                reading.granules = extract_granules(document, file_facts(hdus[0].header, document))
    except UNREADABLE as error:
        if whole_blocks:
            report.error(None, f"the file could not be read as FITS (damaged): {error}")
        else:
            report.error(None, "the file is truncated: it ends inside a table (send it again)")
    except Exception:  # a file no rule foresaw must still be refused, not crash the caller
        logger.exception("unexpected failure while reading %s", filename)
        report.error(None, "the file could not be read: it is damaged or not valid FITS")
    if not reading.rejected and not reading.granules:
        report.error(None, "the file gives no granule (no data row refers to a target)")
    return reading


@contextmanager
def opened(content: bytes, report: ValidationReport):
    """The HDUs of ``content``, every header and data unit loaded so that a truncated file
    fails here; astropy's warnings about damaged files become errors of the report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(io.BytesIO(content), memmap=False, lazy_load_hdus=False) as hdus:
            for hdu in hdus:
                _ = hdu.data
            _report_fits_warnings(caught, report)
            yield hdus


def open_document(path: Path) -> OifitsDocument | None:
    """The parsed document of a stored (accepted) file, None when it no longer reads."""
    report = ValidationReport()
    try:
        with opened(Path(path).read_bytes(), report) as hdus:
            return parse(hdus, report)
    except UNREADABLE:
        return None


def _report_fits_warnings(caught, report: ValidationReport) -> None:
    for warning in caught:
        text = str(warning.message)
        if "truncated" in text.lower():
            report.error(None, f"the file is truncated: {text}")


def header_facts(header: fits.Header) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for keyword in HEADER_FACTS:
        try:
            value = header.get(keyword)
        except (KeyError, ValueError):
            continue
        if isinstance(value, bool | int | float) and value == value:  # NaN is not JSON
            facts[keyword] = value
        elif isinstance(value, str) and value.strip():
            facts[keyword] = value.strip()
    return facts
