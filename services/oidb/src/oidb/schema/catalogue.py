"""OiDB's catalogue: collections, the OIFITS files they hold and their granules.

A granule is one ObsCore record (ObsCore 1.1 column names, OiDB's extensions after them): one
target, one instrument mode and one night of an OIFITS file (calibration level 1 to 3), or one
ObsPortal exposure (level 0, no file). Rights hang on the collection: its type sets the embargo,
its groups who may read or write it, ``private`` hides it from everyone else.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jmmc_core.name_resolver import NameResolutionColumns

from . import Base

#: Collection types and their embargo, as the original counts it (ISO 8601 durations).
COLLECTION_TYPES = ("public", "suv", "pionier", "eso", "chara", "vizier", "simulation")

#: States of an OIFITS file: ``accepted`` files have granules, ``rejected`` ones keep their
#: report (why) and no granule; ``replaced`` is an older version of an accepted file.
FILE_STATES = ("accepted", "rejected", "replaced")

#: ObsCore ``data_rights`` values.
DATA_RIGHTS = ("public", "secure", "proprietary")


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Collection(Base):
    """A set of granules with one owner, one type (embargo) and the groups that hold rights."""

    __tablename__ = "collections"
    __table_args__ = (
        CheckConstraint(f"coltype IN {COLLECTION_TYPES}", name="coltype"),
        CheckConstraint("id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'", name="id_slug"),
    )

    #: Short name used in URLs and in ObsCore's ``obs_collection``.
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    coltype: Mapped[str] = mapped_column(Text, server_default="public")
    #: Account id (``accounts.users.id``) of the owner; None for collections the platform owns.
    owner_id: Mapped[int | None] = mapped_column(Integer)
    #: A private collection is invisible to anyone outside its groups (and admins).
    private: Mapped[bool] = mapped_column(Boolean, server_default="false")
    #: Optional floor of every granule's release date.
    release_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    datapi: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = _now()
    updated: Mapped[datetime] = _now()


class CollectionGroup(Base):
    """A group's right on a collection: read (see private/embargoed data) or also write."""

    __tablename__ = "collection_groups"

    collection_id: Mapped[str] = mapped_column(
        Text, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``accounts.groups.id``.
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    can_write: Mapped[bool] = mapped_column(Boolean, server_default="false")


class OifitsFile(Base):
    """One submitted OIFITS file (any version), with its validation report.

    The file itself is stored under the service's files folder by its MD5; a rejected file
    keeps its report and reason but no granule.
    """

    __tablename__ = "oifits_files"
    __table_args__ = (
        CheckConstraint(f"state IN {FILE_STATES}", name="state"),
        Index("ix_oifits_files_collection_name", "collection_id", "filename"),
        Index(
            "uq_oifits_files_accepted_name",
            "collection_id",
            "filename",
            unique=True,
            postgresql_where=text("state = 'accepted'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    collection_id: Mapped[str] = mapped_column(Text, ForeignKey("collections.id"))
    filename: Mapped[str] = mapped_column(Text)
    md5: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(Text)
    #: Why a rejected file was refused, in words a person can act on.
    reject_reason: Mapped[str | None] = mapped_column(Text)
    #: ``{"oifits_version": 2, "messages": [{"severity", "hdu", "message"}...]}``.
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    #: Primary-header facts kept for the granule pages (ARCFILE, PRO.SCIENCE, PROG.ID...).
    header: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    submitted_by: Mapped[int | None] = mapped_column(Integer)
    submitted: Mapped[datetime] = _now()


class Granule(Base):
    """One ObsCore record, with OiDB's extensions."""

    __tablename__ = "granules"
    __table_args__ = (
        CheckConstraint("calib_level BETWEEN 0 AND 3", name="calib_level"),
        CheckConstraint(f"data_rights IN {DATA_RIGHTS}", name="data_rights"),
        # The ObsPortal import upserts on it, as the original does.
        Index(
            "uq_granules_l0",
            "obs_id",
            "obs_collection",
            "instrument_mode",
            unique=True,
            postgresql_where=text("calib_level = 0"),
        ),
        Index(
            "ix_granules_position",
            text("spoint(radians(s_ra), radians(s_dec))"),
            postgresql_using="gist",
        ),
        Index("ix_granules_file", "file_id"),
        Index("ix_granules_target", "target_name"),
        Index("ix_granules_t_min", "t_min"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    obs_collection: Mapped[str] = mapped_column(Text, ForeignKey("collections.id"))
    #: The OIFITS file the granule comes from; None for ObsPortal (level 0) granules.
    file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("oifits_files.id", ondelete="CASCADE")
    )
    # ObsCore 1.1
    dataproduct_type: Mapped[str | None] = mapped_column(Text)
    calib_level: Mapped[int] = mapped_column(Integer)
    target_name: Mapped[str] = mapped_column(Text)
    obs_id: Mapped[str | None] = mapped_column(Text)
    obs_creator_name: Mapped[str | None] = mapped_column(Text)
    obs_release_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    obs_publisher_did: Mapped[str | None] = mapped_column(Text)
    bib_reference: Mapped[str | None] = mapped_column(Text)
    data_rights: Mapped[str] = mapped_column(Text, server_default="public")
    #: Level 0: where the raw data are (ESO archive); levels 1-3: None (the DataLink URL is
    #: built from the granule's id where it is published).
    access_url: Mapped[str | None] = mapped_column(Text)
    access_format: Mapped[str | None] = mapped_column(Text)
    access_estsize: Mapped[int | None] = mapped_column(BigInteger)
    s_ra: Mapped[float | None] = mapped_column(Double)
    s_dec: Mapped[float | None] = mapped_column(Double)
    s_fov: Mapped[float | None] = mapped_column(Double)
    s_resolution: Mapped[float | None] = mapped_column(Double)
    t_min: Mapped[float | None] = mapped_column(Double)
    t_max: Mapped[float | None] = mapped_column(Double)
    t_exptime: Mapped[float | None] = mapped_column(Double)
    t_resolution: Mapped[float | None] = mapped_column(Double)
    em_min: Mapped[float | None] = mapped_column(Double)
    em_max: Mapped[float | None] = mapped_column(Double)
    em_res_power: Mapped[float | None] = mapped_column(Double)
    o_ucd: Mapped[str | None] = mapped_column(Text)
    pol_states: Mapped[str | None] = mapped_column(Text)
    facility_name: Mapped[str | None] = mapped_column(Text)
    instrument_name: Mapped[str | None] = mapped_column(Text)
    # OiDB's extensions
    instrument_mode: Mapped[str | None] = mapped_column(Text)
    quality_level: Mapped[int | None] = mapped_column(Integer)
    interferometer_stations: Mapped[str | None] = mapped_column(Text)
    nb_channels: Mapped[int | None] = mapped_column(Integer)
    nb_vis: Mapped[int | None] = mapped_column(Integer)
    nb_vis2: Mapped[int | None] = mapped_column(Integer)
    nb_t3: Mapped[int | None] = mapped_column(Integer)
    keywords: Mapped[str | None] = mapped_column(Text)
    progid: Mapped[str | None] = mapped_column(Text)
    proposal_subid: Mapped[str | None] = mapped_column(Text)
    #: SCIENCE or CALIB (an empty category counts as SCIENCE for the embargo).
    dataproduct_category: Mapped[str | None] = mapped_column(Text)
    procsoft: Mapped[str | None] = mapped_column(Text)
    datapi: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    access_md5: Mapped[str | None] = mapped_column(Text)
    #: Submission (or last L0 update) time.
    subdate: Mapped[datetime] = _now()


class ObsportalHarvest(Base):
    """One run of the ObsPortal (level 0) import: its window, its counts, how it ended."""

    __tablename__ = "obsportal_harvests"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started: Mapped[datetime] = _now()
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default="running")
    #: ``date_updated_from`` sent to ObsPortal (None: everything).
    updated_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Latest ``exp_date_updated`` read: the next run resumes from it.
    updated_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_count: Mapped[int] = mapped_column(Integer, server_default="0")
    inserted_count: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_count: Mapped[int] = mapped_column(Integer, server_default="0")
    rejected_count: Mapped[int] = mapped_column(Integer, server_default="0")
    #: ``{"reason": count}`` of the rows that could not become granules.
    rejected_by_reason: Mapped[dict[str, int]] = mapped_column(JSONB, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)


class NameResolution(NameResolutionColumns, Base):
    """The name resolver's cache (``conesearch`` by star name): one answer per normalised name."""

    __tablename__ = "name_resolutions"
