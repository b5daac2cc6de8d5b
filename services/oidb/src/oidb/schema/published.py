"""What OiDB publishes to TAP: ``ivoa.obscore``, ObsCore 1.1 with OiDB's extension columns.

The table is a view over the granules (migration ``obscore_view``) that keeps the private
collections to their owner, groups and admins, keyed on the caller's groups as every row rule
of the platform; its columns are described here to SQLAlchemy, outside the service's models
(migrations do not manage it). ObsCore's names, units, UCDs and utypes are the standard's
(ObsCore 1.1, table of mandatory and optional fields); the extensions keep the names of the
original OiDB table, so queries written for it still work.
"""

from sqlalchemy import BigInteger, Column, MetaData, Table, Text

from jmmc_core.spherical import SCircle
from jmmc_core.tap_publishing import PublishedSchema, TableDeclaration, published_tables, vo

from .catalogue import Granule

SCHEMA = PublishedSchema(
    "ivoa",
    "IVOA data models: ObsCore 1.1 over OiDB's interferometric data (OIFITS granules and the"
    " VLTI observation log)",
)

#: Columns of the view that the granules do not store as such.
_DERIVED = {
    "s_region": SCircle(),
    "s_xel1": BigInteger(),
    "s_xel2": BigInteger(),
    "t_xel": BigInteger(),
    "em_xel": BigInteger(),
    "pol_xel": BigInteger(),
    "data_rights": Text(),
}


def _std(description: str, utype: str, **metadata) -> object:
    """A standard ObsCore column."""
    return vo(description, utype=f"obscore:{utype}", std=True, **metadata)


#: ObsCore 1.1 in the standard's order, then OiDB's extensions.
COLUMNS = {
    "dataproduct_type": _std(
        "Data product type: visibility for OIFITS data", "ObsDataset.dataProductType",
        ucd="meta.code.class", principal=True),
    "calib_level": _std(
        "Calibration level: 0 raw (observation log), 1 instrumental, 2 calibrated, 3 enhanced",
        "ObsDataset.calibLevel", ucd="meta.code;obs.calib", principal=True),
    "obs_collection": _std(
        "Collection the data belong to", "DataID.Collection", ucd="meta.id", principal=True),
    "obs_id": _std("Observation identifier (ESO ARCFILE, else oidb-<granule id>)",
                   "DataID.observationID", ucd="meta.id",
                   principal=True),
    "obs_publisher_did": _std(
        "Identifier of the dataset given by OiDB (the DataLink ID)", "Curation.PublisherDID",
        ucd="meta.ref.ivoid", principal=True),
    "obs_creator_name": _std("Name of the creator of the data", "DataID.Creator",
                             ucd="meta.id"),
    "obs_release_date": _std(
        "When the data are (or were) made public; empty when never embargoed",
        "Curation.releaseDate", ucd="time.release"),
    "bib_reference": _std("Bibliographic reference", "Curation.Reference",
                          ucd="meta.bib.bibcode"),
    "data_rights": _std(
        "public, or secure while under embargo", "Curation.Rights", ucd="meta.code"),
    "access_url": _std(
        "URL of the data: the DataLink document of an OIFITS granule, the ESO archive for the"
        " observation log", "Access.Reference", ucd="meta.ref.url", principal=True),
    "access_format": _std("Content type of access_url", "Access.Format", ucd="meta.code.mime",
                          principal=True),
    "access_estsize": _std("Estimated size of the file", "Access.Size", unit="kbyte",
                           ucd="phys.size;meta.file"),
    "target_name": _std("Name of the target", "Target.Name", ucd="meta.id;src",
                        principal=True),
    "s_ra": _std(
        "Right ascension of the target (ICRS)",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        unit="deg", ucd="pos.eq.ra", principal=True),
    "s_dec": _std(
        "Declination of the target (ICRS)",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        unit="deg", ucd="pos.eq.dec", principal=True),
    "s_fov": _std("Diameter of the field of view",
                  "Char.SpatialAxis.Coverage.Bounds.Extent.diameter", unit="deg",
                  ucd="phys.angSize;instr.fov"),
    "s_region": _std(
        "Sky region covered: a circle of diameter s_fov around the target (a point when the"
        " field is unknown)", "Char.SpatialAxis.Coverage.Support.Area",
        ucd="pos.outline;obs.field",
        # ObsCore 1.1 types it an ADQL region: TAP writes the pg_sphere circle as STC-S.
        datatype="char", arraysize="*", xtype="adql:REGION"),
    "s_resolution": _std("Angular resolution", "Char.SpatialAxis.Resolution.Refval.value",
                         unit="arcsec", ucd="pos.angResolution"),
    "s_xel1": _std("Number of elements along the first spatial axis (none: not an image)",
                   "Char.SpatialAxis.numBins1", ucd="meta.number"),
    "s_xel2": _std("Number of elements along the second spatial axis (none: not an image)",
                   "Char.SpatialAxis.numBins2", ucd="meta.number"),
    "t_min": _std("Start of the observation (MJD)",
                  "Char.TimeAxis.Coverage.Bounds.Limits.StartTime", unit="d",
                  ucd="time.start;obs.exposure", principal=True),
    "t_max": _std("End of the observation (MJD)",
                  "Char.TimeAxis.Coverage.Bounds.Limits.StopTime", unit="d",
                  ucd="time.end;obs.exposure", principal=True),
    "t_exptime": _std("Exposure time: the shortest integration of the data",
                      "Char.TimeAxis.Coverage.Support.Extent", unit="s",
                      ucd="time.duration;obs.exposure"),
    "t_resolution": _std("Time resolution", "Char.TimeAxis.Resolution.Refval.value",
                         unit="s", ucd="time.resolution"),
    "t_xel": _std("Number of elements along the time axis", "Char.TimeAxis.numBins",
                  ucd="meta.number"),
    "em_min": _std("Shortest wavelength observed",
                   "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit", unit="m",
                   ucd="em.wl;stat.min", principal=True),
    "em_max": _std("Longest wavelength observed",
                   "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit", unit="m",
                   ucd="em.wl;stat.max", principal=True),
    "em_res_power": _std("Spectral resolving power",
                         "Char.SpectralAxis.Resolution.ResolPower.refVal",
                         ucd="spect.resolution"),
    "em_xel": _std("Number of spectral channels", "Char.SpectralAxis.numBins",
                   ucd="meta.number"),
    "o_ucd": _std("UCD of the observable (empty: an OIFITS file holds several)",
                  "Char.ObservableAxis.ucd", ucd="meta.ucd"),
    "pol_states": _std("Polarisation states", "Char.PolarizationAxis.stateList",
                       ucd="meta.code;phys.polarization"),
    "pol_xel": _std("Number of polarisation states", "Char.PolarizationAxis.numBins",
                    ucd="meta.number"),
    "facility_name": _std("Interferometer (OI_ARRAY ARRNAME)",
                          "Provenance.ObsConfig.Facility.name", ucd="meta.id;instr.tel",
                          principal=True),
    "instrument_name": _std("Instrument (OI_WAVELENGTH INSNAME)",
                            "Provenance.ObsConfig.Instrument.name", ucd="meta.id;instr",
                            principal=True),
    # OiDB's extensions
    "id": vo("OiDB granule identifier", ucd="meta.id;meta.main"),
    "instrument_mode": vo("Instrument mode", ucd="instr.setup", principal=True),
    "quality_level": vo("Quality level given by the submitter", ucd="meta.code.qual"),
    "interferometer_stations": vo("Stations of the array configuration",
                                  ucd="instr.setup"),
    "nb_channels": vo("Number of spectral channels", ucd="meta.number"),
    "nb_vis": vo("Number of OI_VIS rows", ucd="meta.number"),
    "nb_vis2": vo("Number of OI_VIS2 rows", ucd="meta.number"),
    "nb_t3": vo("Number of OI_T3 rows", ucd="meta.number"),
    "keywords": vo("Keywords", ucd="meta.note"),
    "progid": vo("Observing programme", ucd="meta.id;obs.proposal"),
    "proposal_subid": vo("Sub-identifier within the programme", ucd="meta.id;obs.proposal"),
    "dataproduct_category": vo("SCIENCE or CALIB (calibrator)", ucd="meta.code.class"),
    "procsoft": vo("Software that produced the data", ucd="meta.id;meta.software"),
    "datapi": vo("Principal investigator of the data", ucd="meta.id.PI"),
    "note": vo("Note", ucd="meta.note"),
    "access_md5": vo("MD5 checksum of the file", ucd="meta.checksum"),
    "subdate": vo("When the granule was submitted or last updated", ucd="time.processing"),
}  # fmt: skip


def _column(name: str) -> Column:
    sql_type = _DERIVED.get(name)
    return Column(name, sql_type if sql_type is not None else Granule.__table__.c[name].type)


OBSCORE = Table("obscore", MetaData(schema="ivoa"), *(_column(name) for name in COLUMNS))

#: What ``oidb migrate`` publishes.
TABLES = published_tables(
    SCHEMA,
    [
        TableDeclaration(
            OBSCORE,
            COLUMNS,
            "ObsCore 1.1: OIFITS granules (one target, instrument mode and night of a file) and"
            " the VLTI observation log, with OiDB's extensions",
            utype="ivo://ivoa.net/std/ObsCore#table-1.1",
            table_type="view",
        )
    ],
)
