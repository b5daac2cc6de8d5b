"""From one raw header to its outcome: an accepted exposure, an exclusion or a rejection.

Every header read ends as exactly one of :class:`Accepted`, :class:`Excluded` or
:class:`Rejected`, which is what lets each run's counts add up to the number read.
Validation follows the original portal: problems that do not prevent publishing an exposure
(missing weather, 0/0 coordinates, inconsistent times) are written to a human-readable log
instead of dropping the exposure, and the exposure's validation level says whether the log is
empty: 1 for a complete exposure, 0 for one with missing or doubtful keys (the original's
``exp_validation_level``).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ...storage.ingestion_records import Accepted, Excluded, Rejected
from ..baselines import format_baselines
from .cards import Header, HeaderError, parse_header
from .modes import DP_ID_PREFIXES, EXPOSURE_TIME, SETUPS
from .rules import INSTRUMENT_RULES, Category, Decision, classify

#: Validation levels as the original wrote them: 1 complete, 0 something missing or doubtful.
COMPLETE, INCOMPLETE = 1, 0
#: ``OBJECT`` values that are template placeholders rather than target names.
PLACEHOLDER_NAMES = frozenset({"", "STD", "OBJECT", "NAME", "SCI", "CAL", "TARGET", "UNKNOWN"})
PROGRAM_ID = re.compile(r"\d{2,4}\.[A-Z]-\d{4}\([A-Z]\)|\d{3}\.[0-9A-Z]{4}\.\d{3}")
DP_ID = re.compile(r"([A-Z]+)\.(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)")
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
#: Earliest plausible VLTI frame (MJD of 2001-01-01) and DATE-OBS/MJD-OBS tolerance.
FIRST_VLTI_MJD = 51910.0
TIME_TOLERANCE_S = 60.0
#: MJD-OBS is written to 8 decimals (1 ms); an end time computed from it keeps that precision.
MJD_DECIMALS = 8
#: Science data are proprietary for a year (ESO's default period); calibrators are public.
PROPRIETARY_PERIOD = timedelta(days=365)
WEATHER = (
    ("seeing", "ISS AMBI FWHM START", "ISS AMBI FWHM END"),
    ("tau0", "ISS AMBI TAU0 START", "ISS AMBI TAU0 END"),
)
PAIRS = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))


@dataclass(frozen=True)
class RawHeader:
    """A header as a source delivers it, with what the archive said about it (if anything)."""

    source_name: str
    data: bytes
    archive: dict[str, Any] | None = None
    #: Why the file could not be read (damaged archive, no permission); the header is empty.
    read_error: str | None = None


Outcome = Accepted | Excluded | Rejected


def process(raw: RawHeader) -> Outcome:
    """Parse, classify, extract and validate one header. Never raises for bad input."""
    header_id = None
    if raw.read_error is not None:
        return Rejected(raw.source_name, None, "unreadable_file", raw.read_error)
    try:
        header = parse_header(raw.data)
        header_id = _header_id(header)
        return _classify_and_extract(header, header_id, raw.archive or {})
    except HeaderError as error:
        return Rejected(raw.source_name, header_id, error.reason, error.detail)


def _header_id(header: Header) -> str:
    arcfile = header.text("ARCFILE")
    if arcfile is None:
        raise HeaderError("missing_arcfile", "no ARCFILE card: the header has no archive id")
    header_id = arcfile.removesuffix(".fits")
    if not DP_ID.fullmatch(header_id):
        raise HeaderError("invalid_arcfile", f"ARCFILE {arcfile!r} is not <INSTR>.<timestamp>")
    return header_id


def _category(header: Header) -> tuple[Category, str | None]:
    catg, dpr_type = header.text("DPR CATG"), header.text("DPR TYPE")
    if catg and dpr_type:
        return Category(catg, dpr_type, header.text("DPR TECH") or ""), None
    raw_category = header.text("PRO REC1 RAW1 CATG")
    instrument = INSTRUMENT_RULES[header.text("INSTRUME") or ""]
    if raw_category in instrument.raw_categories:
        return instrument.raw_categories[raw_category], raw_category
    raise HeaderError(
        "missing_category", f"no DPR CATG/TYPE and unknown PRO REC1 RAW1 CATG {raw_category!r}"
    )


def _classify_and_extract(header: Header, header_id: str, archive: dict[str, Any]) -> Outcome:
    instrument = header.text("INSTRUME")
    if instrument not in INSTRUMENT_RULES:
        raise HeaderError("unknown_instrument", f"INSTRUME {instrument!r} is not a VLTI combiner")
    if not header_id.startswith(DP_ID_PREFIXES[instrument] + "."):
        raise HeaderError("invalid_arcfile", f"{header_id!r} is not a {instrument} archive id")
    category, raw_category = _category(header)
    rule = classify(instrument, category)
    if rule.decision is Decision.excluded:
        details = {"catg": category.catg, "type": category.type, "tech": category.tech}
        return Excluded(header_id, instrument, rule.name, details)
    return _extract(
        header, header_id, instrument, rule.decision, rule.name, category, raw_category, archive
    )


def _extract(
    header: Header,
    header_id: str,
    instrument: str,
    decision: Decision,
    rule_name: str,
    category: Category,
    raw_category: str | None,
    archive: dict[str, Any],
) -> Accepted:
    log = ValidationLog()
    target_name = _target_name(header)
    ra, dec = _position(header, log)
    setup = SETUPS[instrument](header, category.type, raw_category)
    if setup.mode is None:
        log.add("Unknown instrument mode")
    stations = _stations(header, log)
    mjd_start = _mjd_start(header, log)
    exposure_time = _exposure_time(header, instrument, log)
    mjd_end = (
        round(mjd_start + exposure_time / 86400, MJD_DECIMALS)
        if mjd_start and exposure_time
        else None
    )
    program_id = header.text("OBS PROG ID")
    if program_id is None:
        log.add("Missing 'HIERARCH OBS PROG ID'")
    elif not PROGRAM_ID.fullmatch(program_id):
        log.add(f"Unrecognised programme id {program_id!r}")
    ob_number = header.number("OBS ID")
    ob_id = int(ob_number) if ob_number is not None and 0 < ob_number < 2**31 else None
    weather = {name: _mean(header, start, end, log) for name, start, end in WEATHER}
    temperature = header.number("ISS AMBI TEMP")
    if temperature is None:
        log.add("Missing 'HIERARCH ISS AMBI TEMP'")
    stations_text = " ".join(stations) if stations else None
    obs_type = decision.value
    grouping_key = "|".join(
        (
            instrument,
            program_id or "",
            str(ob_id or ""),
            target_name,
            setup.mode or "",
            setup.submode or "",
            stations_text or "",
            obs_type,
        )
    )
    baselines = _baselines(header, stations, log)
    return Accepted(
        header_id=header_id,
        exp_id=f"{header_id}_1",
        obs_type=obs_type,
        grouping_key=grouping_key,
        program_id=program_id,
        program_title=archive.get("prog_title"),
        program_pi_coi=archive.get("pi_coi"),
        ob_id=ob_id,
        target_name=target_name,
        target_ra=ra,
        target_dec=dec,
        instrument_name=instrument,
        instrument_mode=setup.mode,
        instrument_submode=setup.submode,
        interferometer_name="VLTI",
        interferometer_stations=stations_text,
        mjd_start=mjd_start,
        mjd_end=mjd_end,
        exposure_time=exposure_time,
        projected_baselines=baselines,
        projected_baselines_text=format_baselines(baselines),
        seeing=weather["seeing"],
        tau0=weather["tau0"],
        temperature=temperature,
        em_min=setup.em_min,
        em_max=setup.em_max,
        em_res_power=setup.res_power,
        validation_level=log.level,
        validation_log=log.messages,
        classification_rule=rule_name,
        date_release=_release_date(archive, decision, mjd_start),
    )


@dataclass
class ValidationLog:
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)

    @property
    def level(self) -> int:
        return INCOMPLETE if self.messages else COMPLETE


def _target_name(header: Header) -> str:
    name = header.text("OBS TARG NAME")
    if name is None or name.upper() in PLACEHOLDER_NAMES:
        fallback = header.text("OBJECT")
        name = None if fallback is None or fallback.upper() in PLACEHOLDER_NAMES else fallback
    if name is None:
        raise HeaderError("missing_target", "neither OBS TARG NAME nor OBJECT names the target")
    return name


def _position(header: Header, log: ValidationLog) -> tuple[float | None, float | None]:
    ra, dec = header.number("RA"), header.number("DEC")
    if ra is None or dec is None:
        log.add("Missing 'RA'" if ra is None else "Missing 'DEC'")
        return None, None
    if ra == 0 and dec == 0:
        log.add("RA/DEC are 0/0 (no pointing recorded)")
        return None, None
    if not (0 <= ra < 360 and -90 <= dec <= 90):
        log.add(f"RA/DEC out of range ({ra}, {dec})")
        return None, None
    return ra, dec


def _stations(header: Header, log: ValidationLog) -> list[str]:
    count = header.number("ISS CONF NTEL")
    if count is None:
        log.add("Missing 'HIERARCH ISS CONF NTEL'")
    stations = []
    for index in range(1, int(count or 4) + 1):
        station = header.text(f"ISS CONF STATION{index}")
        if station is None:
            break
        stations.append(station)
    if not stations:
        log.add("Missing 'HIERARCH ISS CONF STATION1'")
    return stations


def _baselines(header: Header, stations: list[str], log: ValidationLog) -> dict[str, Any]:
    baselines = {}
    for first, second in PAIRS:
        if second > len(stations):
            continue
        pair = f"{first}{second}"
        values = {
            "length": {
                "start": header.number(f"ISS PBL{pair} START"),
                "end": header.number(f"ISS PBL{pair} END"),
            },
            "angle": {
                "start": header.number(f"ISS PBLA{pair} START"),
                "end": header.number(f"ISS PBLA{pair} END"),
            },
        }
        if any(value is not None for part in values.values() for value in part.values()):
            baselines[f"{stations[first - 1]}-{stations[second - 1]}"] = values
    if len(stations) > 1 and not baselines:
        log.add("Missing 'HIERARCH ISS PBL12 START'")
    return baselines


def _mean(header: Header, start: str, end: str, log: ValidationLog) -> float | None:
    values = []
    for keyword in (start, end):
        value = header.number(keyword)
        if value is None:
            log.add(f"Missing 'HIERARCH {keyword}'")
        elif value <= 0:
            log.add(f"Invalid 'HIERARCH {keyword}' ({value:g})")
        else:
            values.append(value)
    if not values:
        return None
    # A mean of two readings has one decimal more than they have, and no more.
    return round(sum(values) / len(values), max(map(_decimals, values)) + 1)


def _decimals(value: float) -> int:
    """Decimals of a header number as it was written (``0.71`` → 2, ``12`` → 0)."""
    text = repr(value)
    _, dot, fraction = text.partition(".")
    if dot and fraction.isdigit():
        # Without exponent, the digits after the point are Decimal's (measured 5 times faster).
        return len(fraction)
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _mjd_start(header: Header, log: ValidationLog) -> float | None:
    mjd = header.number("MJD-OBS")
    date_obs = _iso_to_mjd(header.text("DATE-OBS"))
    if mjd is None:
        log.add("Missing 'MJD-OBS'")
        mjd = date_obs
    elif date_obs is not None and abs(mjd - date_obs) * 86400 > TIME_TOLERANCE_S:
        log.add(
            f"'MJD-OBS' and 'DATE-OBS' disagree by {abs(mjd - date_obs) * 86400:.0f} s",
        )
    if mjd is not None and mjd < FIRST_VLTI_MJD:
        log.add(f"'MJD-OBS' {mjd} is before the first VLTI observation")
    return mjd


def _iso_to_mjd(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None
    return (moment - MJD_EPOCH).total_seconds() / 86400


def _exposure_time(header: Header, instrument: str, log: ValidationLog) -> float | None:
    for keywords in EXPOSURE_TIME[instrument]:
        values = [header.number(keyword) for keyword in keywords]
        if all(value is not None for value in values):
            total = values[0] * values[1] if len(values) == 2 else values[0]
            if total <= 0:
                log.add(f"Non-positive exposure time from {' x '.join(keywords)}")
                return None
            # DIT x NDIT: as precise as the DIT, not the float product (0.1 x 3).
            return round(total, max(map(_decimals, values)))
    log.add(
        "Missing 'EXPTIME'"
        if instrument in ("PIONIER", "MIDI")
        else f"Missing 'HIERARCH {EXPOSURE_TIME[instrument][0][0]}'",
    )
    return None


def _release_date(
    archive: dict[str, Any], decision: Decision, mjd_start: float | None
) -> datetime | None:
    if archive.get("release_date") is not None:
        return archive["release_date"]
    if mjd_start is None:
        return None
    observed = MJD_EPOCH + timedelta(days=mjd_start)
    return observed + PROPRIETARY_PERIOD if decision is Decision.science else observed
