"""JMDC's tables: measurements, submissions and their moderation, releases, resolved names.

One column set describes a measurement (:class:`MeasurementValues`, the columns of VizieR
II/345's ``jmdc.dat``); the catalogue, the submissions and the frozen release entries all
derive from it.
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
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from jmmc_core.name_resolver import NameResolutionColumns

from . import Base

#: Measurement methods, VizieR II/345's codes.
METHODS = {1: "optical interferometry", 2: "lunar occultation", 3: "intensity interferometry"}

#: Photometric band codes, VizieR II/345's ``BandCode`` (1 = U ... 12 = Q).
BAND_CODES = ("U", "B", "V", "R", "I", "J", "H", "K", "L", "M", "N", "Q")

#: A submission's life: a draft (batch upload, not yet sent) is submitted, then moderated.
SUBMISSION_STATES = ("draft", "submitted", "changes_requested", "accepted", "rejected")


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class MeasurementValues:
    """The values of one measurement, as published in ``jmdc.dat`` (diameters in mas)."""

    #: Normalised identifier (preferably HD).
    id1: Mapped[str] = mapped_column(Text)
    #: Identifier as the publication gives it.
    id2: Mapped[str | None] = mapped_column(Text)
    ud_diameter: Mapped[float | None] = mapped_column(Double)
    e_ud_diameter: Mapped[float | None] = mapped_column(Double)
    ld_diameter: Mapped[float | None] = mapped_column(Double)
    e_ld_diameter: Mapped[float | None] = mapped_column(Double)
    #: Band as the publication gives it (``H``, ``2.2``, ``800nm``, ``550 to 850``...).
    band: Mapped[str | None] = mapped_column(Text)
    #: 1..12 in :data:`BAND_CODES`.
    band_code: Mapped[int | None] = mapped_column(SmallInteger)
    mu_lambda: Mapped[float | None] = mapped_column(Double)
    method: Mapped[int | None] = mapped_column(SmallInteger)
    notes: Mapped[str | None] = mapped_column(Text)
    bibcode: Mapped[str | None] = mapped_column(Text)
    #: Set when the SIMBAD identifier is not precise enough (VizieR's ``SINPE``).
    sinpe: Mapped[bool] = mapped_column(Boolean, server_default="false")

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return value_checks()


def value_checks() -> tuple[CheckConstraint, ...]:
    """The checks of :class:`MeasurementValues`, new objects for each table that has them."""
    return (
        CheckConstraint("method IS NULL OR method BETWEEN 1 AND 3", name="method"),
        CheckConstraint("band_code IS NULL OR band_code BETWEEN 1 AND 12", name="band_code"),
    )


class Measurement(MeasurementValues, Base):
    """A measurement of the catalogue; withdrawn ones stay, with the reason, out of new releases."""

    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ICRS position and canonical identifier from the name resolver (None until resolved).
    ra: Mapped[float | None] = mapped_column(Double)
    dec: Mapped[float | None] = mapped_column(Double)
    simbad_id: Mapped[str | None] = mapped_column(Text)
    #: Where it came from: ``import:<file>`` or ``submission``.
    origin: Mapped[str] = mapped_column(Text)
    #: Account of the submitter (``accounts.users.id``); None for imported rows.
    submitted_by: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = _now()
    updated: Mapped[datetime] = _now()
    withdrawn: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


Index("ix_measurements_id1", Measurement.id1)
Index("ix_measurements_bibcode", Measurement.bibcode)
Index("ix_measurements_position", func.spoint(func.radians(Measurement.ra),
      func.radians(Measurement.dec)), postgresql_using="gist")  # fmt: skip


def name_key(column: Any) -> Any:
    """A star name as searches compare it: lower case, without spaces ("HD 1234" = "hd1234")."""
    return func.lower(func.replace(column, " ", ""))


Index("ix_measurements_id1_key", name_key(Measurement.id1))
Index("ix_measurements_id2_key", name_key(Measurement.id2))


class ImportRun(Base):
    """One ``jmdc import`` of a file: what it read, imported, skipped and rejected (and why)."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``import:<file name>``, the origin of the measurements it created.
    origin: Mapped[str] = mapped_column(Text)
    #: ``fits``, ``vizier`` or ``generated``.
    format: Mapped[str] = mapped_column(Text)
    started: Mapped[datetime] = _now()
    read_count: Mapped[int] = mapped_column(Integer)
    imported_count: Mapped[int] = mapped_column(Integer)
    #: Rows whose measurement the catalogue already holds (a re-run imports nothing twice).
    skipped_count: Mapped[int] = mapped_column(Integer)
    rejected_count: Mapped[int] = mapped_column(Integer)
    #: ``[{"row": n, "reason": "..."}]``, rows numbered from 1 as in the file.
    rejects: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")


class Submission(MeasurementValues, Base):
    """A proposed new measurement (or a correction of one), on its way through moderation."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(Text, server_default="submitted")
    submitter_id: Mapped[int] = mapped_column(Integer)
    #: Rows of one batch upload share it.
    batch_id: Mapped[str | None] = mapped_column(Text)
    #: Set for a correction of a catalogue measurement.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"))
    #: The catalogue measurement an accepted submission became.
    measurement_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"))
    moderator_comment: Mapped[str | None] = mapped_column(Text)
    #: What validation could not settle: ``[{"field", "message", "severity"}]`` (duplicates,
    #: names the resolver could not check).
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    created: Mapped[datetime] = _now()
    updated: Mapped[datetime] = _now()

    __table_args__ = (
        *value_checks(),
        CheckConstraint(f"state IN {SUBMISSION_STATES}", name="state"),
    )


class SubmissionEvent(Base):
    """The audit trail: who did what to a submission, when, and what changed."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    actor_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = _now()
    #: ``created``, ``edited``, ``submitted``, ``accepted``, ``rejected``, ``changes_requested``.
    action: Mapped[str] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    #: ``{"field": [old, new]}``.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class Notification(Base):
    """A message for a user (ready to be e-mailed), recorded when their submission moves."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = _now()
    #: When a mailer sent it; None while pending.
    sent: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Release(Base):
    """A numbered, immutable version of the catalogue."""

    __tablename__ = "releases"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    released: Mapped[datetime] = _now()
    title: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(Integer)
    measurement_count: Mapped[int] = mapped_column(Integer)


class ReleaseEntry(MeasurementValues, Base):
    """A measurement as a release froze it."""

    __tablename__ = "release_entries"

    release_number: Mapped[int] = mapped_column(ForeignKey("releases.number"), primary_key=True)
    measurement_id: Mapped[int] = mapped_column(ForeignKey("measurements.id"), primary_key=True)
    ra: Mapped[float | None] = mapped_column(Double)
    dec: Mapped[float | None] = mapped_column(Double)


class NameResolution(NameResolutionColumns, Base):
    """The name resolver's cache: one answer per normalised name (found or not)."""

    __tablename__ = "name_resolutions"
