"""What JMDC publishes to TAP: the current catalogue and every release, as ADQL users see them.

Descriptions, units and UCDs come from the catalogue's one column definition
(:data:`jmdc.models.catalogue.measurement_columns`), the same the exports and the VizieR files
use. ``jmdc.measurements`` shows the current catalogue (withdrawn measurements stay private);
``jmdc.release_entries`` holds every release, told apart by ``release_number``.
Submissions, moderation, notifications and import runs stay private.
"""

from jmmc_core.tap_publishing import (
    ColumnMetadata,
    PublishedSchema,
    TableDeclaration,
    published_tables,
    vo,
)

from ..models.catalogue import MeasurementColumn, measurement_columns, position_columns
from .catalogue import Measurement, Release, ReleaseEntry

SCHEMA = PublishedSchema(
    "jmdc",
    "JMDC, the JMMC Measured Stellar Diameters Catalogue (VizieR II/345): angular diameters"
    " measured by optical interferometry, lunar occultation and intensity interferometry.",
)

#: Columns TOPCAT shows first: the star, its diameters, the band, the method, the paper.
_PRINCIPAL = {"id1", "ud_diameter", "ld_diameter", "e_ld_diameter", "band", "method", "bibcode",
              "ra", "dec"}  # fmt: skip


def _published(column: MeasurementColumn) -> ColumnMetadata:
    return vo(
        column.description,
        unit=column.unit,
        ucd=column.ucd,
        principal=column.name in _PRINCIPAL,
    )


_VALUES = {column.name: _published(column) for column in measurement_columns}
_POSITION = {column.name: _published(column) for column in position_columns}

MEASUREMENTS = TableDeclaration(
    Measurement.__table__,
    {
        "id": vo("Measurement identifier", ucd="meta.id;meta.main", principal=True),
        **_VALUES,
        **_POSITION,
        "simbad_id": vo("SIMBAD identifier of the star", ucd="meta.id.cross"),
    },
    "The current catalogue: every measurement not withdrawn",
    rows_visible="withdrawn IS NULL",
)

RELEASES = TableDeclaration(
    Release.__table__,
    {
        "number": vo("Release number", ucd="meta.version;meta.main", principal=True),
        "released": vo("When the release was made", ucd="time.release", principal=True),
        "title": vo("Title of the release", ucd="meta.title", principal=True),
        "note": vo("What changed in the release", ucd="meta.note"),
        "measurement_count": vo("Measurements in the release", ucd="meta.number"),
    },
    "Numbered, immutable versions of the catalogue",
)

RELEASE_ENTRIES = TableDeclaration(
    ReleaseEntry.__table__,
    {
        "release_number": vo("Release holding the measurement", ucd="meta.version",
                             principal=True),
        "measurement_id": vo("Measurement identifier (jmdc.measurements.id)", ucd="meta.id",
                             principal=True),
        **_VALUES,
        **_POSITION,
    },
    "Every release's measurements as it froze them; one release: WHERE release_number = n",
)  # fmt: skip

#: What ``jmdc migrate`` publishes.
TABLES = published_tables(SCHEMA, [MEASUREMENTS, RELEASES, RELEASE_ENTRIES])
