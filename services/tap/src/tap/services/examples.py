"""The example queries of TAP: shown on the service's page and published as DALI examples.

Each runs on the published tables as they are (a test runs every one through ``/tap/sync``).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    #: The fragment identifier of the example in ``/tap/examples``.
    id: str
    name: str
    description: str
    query: str
    #: Tables the query reads, as published.
    tables: tuple[str, ...]


EXAMPLES: tuple[Example, ...] = (
    Example(
        id="cone-search",
        name="Cone search",
        description="Exposures whose target lies within half a degree of a position (ICRS,"
        " degrees); CONTAINS on the position column uses its spatial index.",
        query="SELECT exp_id, target_name, instrument_name, mjd_start,\n"
        "       DISTANCE(\"position\", POINT('ICRS', 323.8712, -38.5383)) AS dist\n"
        "FROM obsportal.exposures\n"
        "WHERE CONTAINS(\"position\", CIRCLE('ICRS', 323.8712, -38.5383, 0.5)) = 1\n"
        "ORDER BY dist",
        tables=("obsportal.exposures",),
    ),
    Example(
        id="exposures-of-observations",
        name="Exposures with their observation",
        description="Joins each exposure to its observation to get the observation's type"
        " (science or calibrator).",
        query="SELECT TOP 100 e.exp_id, e.target_name, o.obs_type, o.instrument_mode,"
        " e.mjd_start\n"
        "FROM obsportal.exposures AS e\n"
        "JOIN obsportal.observations AS o ON o.id = e.observation_id\n"
        "WHERE o.obs_type = 'science'\n"
        "ORDER BY mjd_start DESC",
        tables=("obsportal.exposures", "obsportal.observations"),
    ),
    Example(
        id="exposures-per-instrument",
        name="Exposures per instrument",
        description="Counts the exposures of each instrument, with their first and last date.",
        query="SELECT instrument_name, COUNT(*) AS exposures,\n"
        "       MIN(mjd_start) AS first_mjd, MAX(mjd_start) AS last_mjd\n"
        "FROM obsportal.exposures\n"
        "GROUP BY instrument_name\n"
        "ORDER BY exposures DESC",
        tables=("obsportal.exposures",),
    ),
    Example(
        id="wavelengths-in-microns",
        name="Wavelength ranges in microns",
        description="IN_UNIT converts the wavelength columns (published in metres) to microns.",
        query="SELECT TOP 20 exp_id, instrument_name, instrument_mode,\n"
        "       IN_UNIT(em_min, 'um') AS em_min_um, IN_UNIT(em_max, 'um') AS em_max_um\n"
        "FROM obsportal.exposures\n"
        "WHERE em_min IS NOT NULL\n"
        "ORDER BY em_min",
        tables=("obsportal.exposures",),
    ),
    Example(
        id="upload-crossmatch",
        name="Crossmatch with your own list",
        description="Sends your table of positions (a VOTable with columns name, ra and dec in"
        " degrees) with the query as UPLOAD=mine,param:mine, and finds the exposures within"
        " 1 arcminute of each position.",
        query="SELECT u.name, e.exp_id, e.instrument_name, e.mjd_start\n"
        "FROM TAP_UPLOAD.mine AS u\n"
        "JOIN obsportal.exposures AS e\n"
        "  ON CONTAINS(e.\"position\", CIRCLE('ICRS', u.ra, u.dec, 1.0/60)) = 1",
        tables=("obsportal.exposures",),
    ),
    Example(
        id="published-tables",
        name="Published tables and their columns",
        description="TAP_SCHEMA describes every table: here, the columns of the exposures.",
        query="SELECT column_name, datatype, unit, ucd, description\n"
        "FROM TAP_SCHEMA.columns\n"
        "WHERE table_name = 'obsportal.exposures'\n"
        "ORDER BY column_index",
        tables=("TAP_SCHEMA.columns",),
    ),
)
