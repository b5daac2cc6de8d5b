"""What ObsPortal publishes to TAP: the observation catalogue, as ADQL users see it.

Names and types come from the models; each mapping lists the published columns, in order,
with what the models cannot say. Ingestion bookkeeping (runs, rejects, exclusions, grouping
keys, validation logs) stays private.
"""

from jmmc_core.tap_publishing import PublishedSchema, TableDeclaration, published_tables, vo

from .catalogue import Exposure, Observation, Program, Target

SCHEMA = PublishedSchema(
    "obsportal",
    "VLTI interferometric exposures (GRAVITY, PIONIER, MATISSE, AMBER, MIDI) from the ESO"
    " archive's raw headers, grouped into observations of one target with one setup.",
)

#: What ``validation_level`` means, as the original portal wrote it (TAP, API docs, VOTables).
VALIDATION_LEVEL_MEANING = (
    "Completeness of the exposure's metadata, as the original portal wrote it: 1 every expected"
    " header keyword was present and consistent, 0 something was missing or doubtful (the"
    " validation log says what)"
)
#: What ``targets.resolution`` means, one sentence per value of ``RESOLUTIONS``.
RESOLUTION_MEANING = (
    "What SIMBAD said of the target's name (underscores read as spaces): found, it knows the"
    " star (identifier, identifier_ra and identifier_dec are SIMBAD's); not_found, it knows no"
    " object of that name; empty, not asked yet (the resolver was offline or SIMBAD did not"
    " answer)"
)
_PROGRAM_ID = vo("ESO programme", ucd="meta.id;obs.proposal", principal=True)
_INSTRUMENT = vo(
    "Instrument: GRAVITY, PIONIER, MATISSE, AMBER or MIDI", ucd="meta.id;instr", principal=True
)
_MODE = vo("Instrument mode (spectral setup)", ucd="meta.id;instr.setup", principal=True)
_SUBMODE = vo("Instrument sub-mode", ucd="meta.id;instr.setup")
_INTERFEROMETER = vo("Interferometer, e.g. VLTI", ucd="meta.id;instr.tel")
_STATIONS = vo("Stations of the array configuration, e.g. A0-G1-J2-J3", ucd="instr.setup")
_TARGET_NAME = vo(
    "Target name as the observing block gives it (OBS TARG NAME)", ucd="meta.id", principal=True
)

PROGRAMS = TableDeclaration(
    Program.__table__,
    {
        "id": vo("ESO programme, e.g. 0102.C-0519(A) or 106.21JR.001", ucd="meta.id;meta.main",
                 principal=True),
        "title": vo("Title of the programme", ucd="meta.title", principal=True),
        "pi_coi": vo("Principal investigator and co-investigators",
                     ucd="meta.curation;obs.observer"),
    },
    "ESO observing programmes of the exposures",
)  # fmt: skip

TARGETS = TableDeclaration(
    Target.__table__,
    {
        "id": vo("Target identifier", ucd="meta.id;meta.main", principal=True),
        "name": _TARGET_NAME,
        "ra": vo("Right ascension (ICRS) first seen for the target", unit="deg",
                 ucd="pos.eq.ra;meta.main", principal=True),
        "dec": vo("Declination (ICRS) first seen for the target", unit="deg",
                  ucd="pos.eq.dec;meta.main", principal=True),
        "identifier": vo("SIMBAD's main identifier of the target (e.g. HD 58647), the same for"
                         " every spelling of the star's name; empty unless resolution is found",
                         ucd="meta.id", principal=True),
        "identifier_ra": vo("Right ascension (ICRS) SIMBAD gives for the identified star",
                            unit="deg", ucd="pos.eq.ra"),
        "identifier_dec": vo("Declination (ICRS) SIMBAD gives for the identified star",
                             unit="deg", ucd="pos.eq.dec"),
        "resolution": vo(RESOLUTION_MEANING, ucd="meta.code"),
        "resolved_at": vo("When SIMBAD was asked about the target's name",
                          ucd="time.processing"),
    },
    "Targets as the observing blocks name them, identified in SIMBAD by name",
)  # fmt: skip

OBSERVATIONS = TableDeclaration(
    Observation.__table__,
    {
        "id": vo("Observation identifier (obs_id of the portal's VOTables)",
                 ucd="meta.id;meta.main", principal=True),
        "obs_type": vo("science or calibrator", ucd="meta.code.class", principal=True),
        "program_id": _PROGRAM_ID,
        "target_id": vo("Target observed", ucd="meta.id", principal=True),
        "instrument_name": _INSTRUMENT,
        "instrument_mode": _MODE,
        "instrument_submode": _SUBMODE,
        "interferometer_name": _INTERFEROMETER,
        "interferometer_stations": _STATIONS,
        "ob_id": vo("ESO observing block identifier (OBS ID)", ucd="meta.id"),
    },
    "Exposures of one observing block on one target with one setup and one type",
)  # fmt: skip

EXPOSURES = TableDeclaration(
    Exposure.__table__,
    {
        "exp_id": vo("Exposure identifier: ESO archive identifier of the raw frame and exposure"
                     " number", ucd="meta.id;meta.main", principal=True),
        "header_id": vo("ESO archive identifier (DP.ID) of the raw frame", ucd="meta.id"),
        "observation_id": vo("Observation the exposure belongs to", ucd="meta.id",
                             principal=True),
        "target_name": _TARGET_NAME,
        "target_ra": vo("Right ascension of the target (ICRS)", unit="deg",
                        ucd="pos.eq.ra;meta.main", principal=True),
        "target_dec": vo("Declination of the target (ICRS)", unit="deg",
                         ucd="pos.eq.dec;meta.main", principal=True),
        "position": vo("Position of the target (ICRS), for cone searches with CONTAINS",
                       unit="deg", ucd="pos.eq;meta.main"),
        "instrument_name": _INSTRUMENT,
        "instrument_mode": _MODE,
        "instrument_submode": _SUBMODE,
        "interferometer_name": _INTERFEROMETER,
        "interferometer_stations": _STATIONS,
        "program_id": _PROGRAM_ID,
        "mjd_start": vo("Start of the exposure (MJD)", unit="d", ucd="time.start;obs.exposure",
                        principal=True),
        "mjd_end": vo("End of the exposure (MJD)", unit="d", ucd="time.end;obs.exposure",
                      principal=True),
        "exposure_time": vo("Exposure time", unit="s", ucd="time.duration;obs.exposure"),
        "projected_baselines_text": vo(
            "Projected baselines per station pair: length (m) and position angle (deg) at the"
            " start and end of the exposure", ucd="instr.baseline"),
        "seeing": vo("Seeing", unit="arcsec", ucd="instr.obsty.seeing"),
        "tau0": vo("Atmospheric coherence time", unit="s", ucd="time.duration;obs.atmos"),
        "temperature": vo("Ambient temperature in degrees Celsius", ucd="phys.temperature"),
        "em_min": vo("Shortest wavelength observed", unit="m", ucd="em.wl;stat.min",
                     principal=True),
        "em_max": vo("Longest wavelength observed", unit="m", ucd="em.wl;stat.max",
                     principal=True),
        "em_res_power": vo("Spectral resolving power", ucd="spect.resolution"),
        "validation_level": vo(VALIDATION_LEVEL_MEANING, ucd="meta.code.qual"),
        "date_updated": vo("When the portal last changed the exposure", ucd="time.processing"),
        "date_release": vo("End of the proprietary period of the raw frame",
                           ucd="time.release"),
    },
    "VLTI interferometric exposures, one per raw frame of the ESO archive",
)  # fmt: skip

#: What ``obsportal migrate`` publishes.
TABLES = published_tables(SCHEMA, [PROGRAMS, TARGETS, OBSERVATIONS, EXPOSURES])
