"""SQL of target identification: which targets the resolver has still to check, and what it said."""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jmmc_core.name_resolver import Resolution

from ..schema import Target


def unchecked(session: Session) -> list[tuple[int, str]]:
    """``(id, name)`` of the targets whose name the resolver has not checked yet, oldest first."""
    query = select(Target.id, Target.name).where(Target.resolution.is_(None)).order_by(Target.id)
    return [(row.id, row.name) for row in session.execute(query)]


def record(session: Session, target_id: int, answer: Resolution) -> None:
    """Keep what the resolver said of a target's name (found or not; never "not checked")."""
    found = answer.status == "found"
    session.execute(
        update(Target)
        .where(Target.id == target_id)
        .values(
            resolution=answer.status,
            resolved_at=func.now(),
            identifier=answer.identifier if found else None,
            identifier_ra=answer.ra if found else None,
            identifier_dec=answer.dec if found else None,
        )
    )
