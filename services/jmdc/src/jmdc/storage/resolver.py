"""SQL of the name resolver's cache (``name_resolutions``)."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..schema import NameResolution


def cached(session: Session, name: str) -> NameResolution | None:
    return session.scalar(select(NameResolution).where(NameResolution.name == name))


def remember(
    session: Session,
    name: str,
    *,
    found: bool,
    identifier: str | None,
    ra: float | None,
    dec: float | None,
    source: str,
) -> None:
    """Keep an answer; a concurrent request that kept one first wins (same answer)."""
    session.execute(
        insert(NameResolution)
        .values(name=name, found=found, identifier=identifier, ra=ra, dec=dec, source=source)
        .on_conflict_do_nothing(index_elements=["name"])
    )
