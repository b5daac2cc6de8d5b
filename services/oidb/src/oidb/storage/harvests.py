"""The record of ObsPortal imports (``obsportal_harvests``): where the next one resumes."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..schema import ObsportalHarvest


def last_succeeded(session: Session) -> ObsportalHarvest | None:
    query = select(ObsportalHarvest).where(ObsportalHarvest.status == "succeeded")
    return session.scalars(query.order_by(ObsportalHarvest.id.desc()).limit(1)).first()


def last_finished(session: Session) -> ObsportalHarvest | None:
    query = select(ObsportalHarvest).where(ObsportalHarvest.status != "running")
    return session.scalars(query.order_by(ObsportalHarvest.id.desc()).limit(1)).first()


def start(session: Session, updated_from: datetime | None) -> ObsportalHarvest:
    harvest = ObsportalHarvest(status="running", updated_from=updated_from)
    session.add(harvest)
    session.flush()
    return harvest


def finish(session: Session, harvest_id: int, status: str, **values: Any) -> ObsportalHarvest:
    session.execute(
        update(ObsportalHarvest)
        .where(ObsportalHarvest.id == harvest_id)
        .values(status=status, finished=func.now(), **values)
    )
    return session.get(ObsportalHarvest, harvest_id, populate_existing=True)
