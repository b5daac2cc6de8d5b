"""SQL of the releases: freezing the catalogue, reading a release back, comparing two.

The database keeps releases immutable (triggers of the ``releases immutable`` migration refuse
any UPDATE, DELETE or TRUNCATE with SQLSTATE ``JM001``, and entries joining a past release);
this module turns that refusal into a conflict.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from jmmc_core.errors import Conflict

from ..schema import Measurement, Release, ReleaseEntry

#: What a release freezes of a measurement: the values it publishes and its position.
FROZEN_COLUMNS = tuple(
    column.name for column in ReleaseEntry.__table__.columns if not column.primary_key
)
#: SQLSTATE of the immutability triggers.
IMMUTABLE = "JM001"
IMMUTABLE_MESSAGE = "a release can never be changed once made"


def lock_for_release(session: Session) -> None:
    """Serialise releases (one number each) and hold the catalogue still while it is frozen:
    readers go on, writers of measurements wait until the release is committed."""
    session.execute(text(f"LOCK TABLE {Release.__table__.fullname} IN EXCLUSIVE MODE"))
    session.execute(text(f"LOCK TABLE {Measurement.__table__.fullname} IN SHARE MODE"))


def last_number(session: Session) -> int | None:
    return session.scalar(select(func.max(Release.number)))


def _current() -> Select:
    """The catalogue as a release would freeze it: measurements not withdrawn."""
    return select(
        Measurement.id.label("measurement_id"), *(getattr(Measurement, c) for c in FROZEN_COLUMNS)
    ).where(Measurement.withdrawn.is_(None))


def _frozen(number: int) -> Select:
    return select(
        ReleaseEntry.measurement_id, *(getattr(ReleaseEntry, c) for c in FROZEN_COLUMNS)
    ).where(ReleaseEntry.release_number == number)


def differs_from_current(session: Session, number: int) -> bool:
    """Whether the catalogue now differs from release ``number`` (a row added, changed or gone)."""
    current, frozen = _current(), _frozen(number)
    return bool(
        session.scalar(select(exists(current.except_(frozen)) | exists(frozen.except_(current))))
    )


def current_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_current().subquery())) or 0


def create(
    session: Session, number: int, title: str, note: str | None, created_by: int | None
) -> Release:
    """Release ``number`` holding the catalogue as it is (call :func:`lock_for_release` first)."""
    release = Release(
        number=number,
        title=title,
        note=note,
        created_by=created_by,
        measurement_count=current_count(session),
        released=datetime.now(UTC),
    )
    session.add(release)
    session.flush()
    columns = ["measurement_id", *FROZEN_COLUMNS]
    session.execute(
        ReleaseEntry.__table__.insert().from_select(
            ["release_number", *columns],
            select(literal(number), *_current().subquery().c),
        )
    )
    return release


def get(session: Session, number: int) -> Release | None:
    return session.get(Release, number)


def all_releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.number.desc())))


def history(session: Session, up_to: int) -> list[Release]:
    """Releases ``1 .. up_to``, oldest first."""
    statement = select(Release).where(Release.number <= up_to).order_by(Release.number)
    return list(session.scalars(statement))


def entries(session: Session, number: int) -> list[dict[str, Any]]:
    """The entries of a release, by star name then measurement."""
    statement = _frozen(number).order_by(ReleaseEntry.id1, ReleaseEntry.measurement_id)
    return [dict(row._mapping) for row in session.execute(statement)]


def compared(session: Session, old: int, new: int) -> Iterator[dict[str, Any]]:
    """Measurements in only one of two releases, or in both with different values:
    ``{"measurement_id", "old": values | None, "new": values | None, "withdrawn",
    "withdrawn_reason"}``, by star name."""
    a, b = _frozen(old).subquery("a"), _frozen(new).subquery("b")
    values_differ = func.row(*(a.c[c] for c in FROZEN_COLUMNS)).is_distinct_from(
        func.row(*(b.c[c] for c in FROZEN_COLUMNS))
    )
    identifier = func.coalesce(a.c.measurement_id, b.c.measurement_id)
    statement = (
        select(
            identifier.label("measurement_id"),
            a.c.measurement_id.label("in_old"),
            b.c.measurement_id.label("in_new"),
            *(a.c[c].label(f"old_{c}") for c in FROZEN_COLUMNS),
            *(b.c[c].label(f"new_{c}") for c in FROZEN_COLUMNS),
            Measurement.withdrawn,
            Measurement.withdrawn_reason,
        )
        .select_from(a.join(b, a.c.measurement_id == b.c.measurement_id, full=True))
        .join(Measurement, Measurement.id == identifier)
        .where(a.c.measurement_id.is_(None) | b.c.measurement_id.is_(None) | values_differ)
        .order_by(func.coalesce(b.c.id1, a.c.id1), identifier)
    )
    for row in session.execute(statement):
        found = row._mapping
        yield {
            "measurement_id": found["measurement_id"],
            "old": None
            if found["in_old"] is None
            else {c: found[f"old_{c}"] for c in FROZEN_COLUMNS},
            "new": None
            if found["in_new"] is None
            else {c: found[f"new_{c}"] for c in FROZEN_COLUMNS},
            "withdrawn": found["withdrawn"],
            "withdrawn_reason": found["withdrawn_reason"],
        }


def _refused_as_conflict(error: DBAPIError) -> None:
    if getattr(error.orig, "sqlstate", None) == IMMUTABLE:
        raise Conflict(IMMUTABLE_MESSAGE) from None
    raise error


def change(session: Session, number: int, values: dict[str, Any]) -> None:
    """Try to change a release; the database refuses (a conflict)."""
    try:
        session.execute(update(Release).where(Release.number == number).values(**values))
    except DBAPIError as error:
        _refused_as_conflict(error)


def remove(session: Session, number: int) -> None:
    """Try to delete a release; the database refuses (a conflict)."""
    try:
        session.execute(delete(Release).where(Release.number == number))
    except DBAPIError as error:
        _refused_as_conflict(error)


def measurement(session: Session, measurement_id: int) -> Measurement | None:
    return session.get(Measurement, measurement_id)


def withdraw(session: Session, measurement_id: int, reason: str) -> Measurement | None:
    """Mark a measurement withdrawn (None if it is unknown or already withdrawn)."""
    statement = (
        update(Measurement)
        .where(Measurement.id == measurement_id, Measurement.withdrawn.is_(None))
        .values(withdrawn=func.now(), withdrawn_reason=reason, updated=func.now())
        .returning(Measurement)
    )
    return session.scalars(statement).one_or_none()
