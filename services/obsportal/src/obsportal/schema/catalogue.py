"""The observation catalogue: programmes, targets, observations and their exposures."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
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
from jmmc_core.spherical import SPoint

from . import Base

#: The two kinds of interferometric exposure the portal publishes (ASPRO2's vocabulary).
OBSERVATION_TYPES = ("science", "calibrator")


class Program(Base):
    """An ESO programme, e.g. ``0102.C-0519(A)`` or (since P106) ``106.21JR.001``."""

    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    pi_coi: Mapped[str | None] = mapped_column(Text)


def name_key_sql(column: str) -> str:
    """SQL of a name as searches match it: letters and digits only, upper case (``HD_58647``,
    ``hd 58647`` and ``HD58647`` all give ``HD58647``)."""
    return f"upper(regexp_replace({column}, '[^[:alnum:]]+', '', 'g'))"


#: What the name resolver said of a target; NULL until it could check the name.
RESOLUTIONS = ("found", "not_found")


class Target(Base):
    """A target as the observing block names it (``OBS TARG NAME``), first position seen.

    ``obsportal resolve-targets`` attaches SIMBAD's main identifier and ICRS position: targets
    sharing an identifier are one star under several spellings.
    """

    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint(f"resolution IN {RESOLUTIONS}", name="resolution"),
        # Substring searches on the keys (LIKE '%KEY%') use trigram indexes.
        Index(
            "ix_targets_name_key",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
        Index(
            "ix_targets_identifier_key",
            "identifier_key",
            postgresql_using="gin",
            postgresql_ops={"identifier_key": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text, unique=True)
    ra: Mapped[float | None] = mapped_column(Double)
    dec: Mapped[float | None] = mapped_column(Double)
    name_key: Mapped[str] = mapped_column(Text, Computed(name_key_sql("name"), persisted=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: SIMBAD's main identifier, single-spaced (``HD 58647``, ``* alf Eri``).
    identifier: Mapped[str | None] = mapped_column(Text, index=True)
    identifier_key: Mapped[str | None] = mapped_column(
        Text, Computed(name_key_sql("identifier"), persisted=True)
    )
    #: SIMBAD's ICRS position (degrees), where ``ra``/``dec`` are the telescope's pointing.
    identifier_ra: Mapped[float | None] = mapped_column(Double)
    identifier_dec: Mapped[float | None] = mapped_column(Double)


class NameResolution(NameResolutionColumns, Base):
    """The name resolver's cache: one answer per normalised name (found or not)."""

    __tablename__ = "name_resolutions"


class Observation(Base):
    """Exposures of one observing block on one target with one setup and one type.

    ``id`` is the VOTable ``obs_id``. Ids are handed out in the order the grouping keys are
    first met, so re-running an interrupted ingestion numbers them exactly as an
    uninterrupted run would.
    """

    __tablename__ = "observations"
    __table_args__ = (CheckConstraint(f"obs_type IN {OBSERVATION_TYPES}", name="obs_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    grouping_key: Mapped[str] = mapped_column(Text, unique=True)
    obs_type: Mapped[str] = mapped_column(Text)
    program_id: Mapped[str | None] = mapped_column(ForeignKey("programs.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    instrument_name: Mapped[str] = mapped_column(Text)
    instrument_mode: Mapped[str | None] = mapped_column(Text)
    instrument_submode: Mapped[str | None] = mapped_column(Text)
    interferometer_name: Mapped[str] = mapped_column(Text)
    interferometer_stations: Mapped[str | None] = mapped_column(Text)
    ob_id: Mapped[int | None] = mapped_column(Integer)


class Exposure(Base):
    """One interferometric raw frame (science or calibrator) of the ESO archive.

    ``exp_id`` is ``<dp_id>_<n>`` (one exposure per raw frame, so ``n`` is 1); ``header_id``
    is the ESO DP.ID, the key of idempotent re-ingestion.
    """

    __tablename__ = "exposures"
    __table_args__ = (
        Index("ix_exposures_position", "position", postgresql_using="gist"),
        # What ADQL's CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE(...)) becomes.
        Index(
            "ix_exposures_target_spoint",
            text("spoint(radians(target_ra), radians(target_dec))"),
            postgresql_using="gist",
        ),
        Index("ix_exposures_date_updated", "date_updated"),
        Index("ix_exposures_instrument_mjd", "instrument_name", "mjd_start"),
        # Searches come oldest first: exports stream in this order instead of sorting on disk.
        Index("ix_exposures_mjd_start_exp_id", "mjd_start", "exp_id"),
    )

    exp_id: Mapped[str] = mapped_column(Text, primary_key=True)
    header_id: Mapped[str] = mapped_column(Text, unique=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    target_name: Mapped[str] = mapped_column(Text)
    target_ra: Mapped[float | None] = mapped_column(Double)
    target_dec: Mapped[float | None] = mapped_column(Double)
    position: Mapped[tuple[float, float] | None] = mapped_column(SPoint)
    instrument_name: Mapped[str] = mapped_column(Text)
    instrument_mode: Mapped[str | None] = mapped_column(Text)
    instrument_submode: Mapped[str | None] = mapped_column(Text)
    interferometer_name: Mapped[str] = mapped_column(Text)
    interferometer_stations: Mapped[str | None] = mapped_column(Text)
    program_id: Mapped[str | None] = mapped_column(ForeignKey("programs.id"))
    mjd_start: Mapped[float | None] = mapped_column(Double)
    mjd_end: Mapped[float | None] = mapped_column(Double)
    exposure_time: Mapped[float | None] = mapped_column(Double)
    projected_baselines: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: As the VOTables print it, made at ingestion (exports would otherwise format every row).
    projected_baselines_text: Mapped[str | None] = mapped_column(Text)
    seeing: Mapped[float | None] = mapped_column(Double)
    tau0: Mapped[float | None] = mapped_column(Double)
    temperature: Mapped[float | None] = mapped_column(Double)
    em_min: Mapped[float | None] = mapped_column(Double)
    em_max: Mapped[float | None] = mapped_column(Double)
    em_res_power: Mapped[float | None] = mapped_column(Double)
    validation_level: Mapped[int] = mapped_column(Integer)
    validation_log: Mapped[list[str]] = mapped_column(JSONB)
    classification_rule: Mapped[str] = mapped_column(Text)
    date_updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    date_release: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ingestion_run_id: Mapped[int] = mapped_column(ForeignKey("ingestion_runs.id"), index=True)
