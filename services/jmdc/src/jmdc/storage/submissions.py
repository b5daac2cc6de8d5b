"""SQL of submissions, their audit trail and their notifications."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from jmmc_core.accounts.schema import UserRow
from jmmc_core.paging import Page, Paging

from ..schema import Measurement, Notification, Submission, SubmissionEvent
from ..schema.catalogue import name_key

#: At most this many duplicates are reported for one submission.
MAX_DUPLICATES = 10


def duplicates(
    session: Session, values: Mapping[str, Any], exclude_id: int | None = None
) -> list[dict[str, Any]]:
    """Current catalogue measurements of the same star with the same bibcode and band, or the
    same diameters and error."""
    same_reference = and_(
        Measurement.bibcode == values.get("bibcode"),
        Measurement.band.is_not_distinct_from(values.get("band")),
    )
    same_values = and_(
        Measurement.ud_diameter.is_not_distinct_from(values.get("ud_diameter")),
        Measurement.ld_diameter.is_not_distinct_from(values.get("ld_diameter")),
        Measurement.e_ld_diameter.is_not_distinct_from(values.get("e_ld_diameter")),
    )
    query = (
        select(
            Measurement.id,
            Measurement.id1,
            Measurement.bibcode,
            same_reference.label("same_reference"),
        )
        .where(
            name_key(Measurement.id1) == name_key(values["id1"]),
            Measurement.withdrawn.is_(None),
            or_(same_reference, same_values),
        )
        .order_by(Measurement.id)
        .limit(MAX_DUPLICATES)
    )
    if exclude_id is not None:
        query = query.where(Measurement.id != exclude_id)
    return [dict(row._mapping) for row in session.execute(query)]


def get(session: Session, submission_id: int, lock: bool = False) -> Submission | None:
    query = select(Submission).where(Submission.id == submission_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def batch(session: Session, submitter_id: int, batch_id: str) -> Sequence[Submission]:
    return session.scalars(
        select(Submission)
        .where(Submission.submitter_id == submitter_id, Submission.batch_id == batch_id)
        .order_by(Submission.id)
    ).all()


#: Columns a listing may be sorted on.
SORTABLE = {
    "id": Submission.id,
    "state": Submission.state,
    "id1": Submission.id1,
    "created": Submission.created,
    "updated": Submission.updated,
}


def listing(
    session: Session,
    paging: Paging,
    submitter_id: int | None = None,
    states: Sequence[str] = (),
    default_sort: str = "-updated",
) -> tuple[list[tuple[Submission, str | None]], int]:
    """Submissions with their submitter's username: one submitter's, or all (moderators)."""
    conditions = []
    if submitter_id is not None:
        conditions.append(Submission.submitter_id == submitter_id)
    if states:
        conditions.append(Submission.state.in_(states))
    keys = paging.sort_keys(SORTABLE) or Paging(sort=default_sort).sort_keys(SORTABLE)
    order = [SORTABLE[name].desc() if descending else SORTABLE[name] for name, descending in keys]
    total = session.scalar(select(func.count()).select_from(Submission).where(*conditions)) or 0
    rows = session.execute(
        select(Submission, UserRow.username)
        .outerjoin(UserRow, UserRow.id == Submission.submitter_id)
        .where(*conditions)
        .order_by(*order, Submission.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return [(row[0], row[1]) for row in rows], total


def username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(UserRow.username).where(UserRow.id == user_id))


def events(session: Session, submission_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(SubmissionEvent, UserRow.username)
        .outerjoin(UserRow, UserRow.id == SubmissionEvent.actor_id)
        .where(SubmissionEvent.submission_id == submission_id)
        .order_by(SubmissionEvent.at, SubmissionEvent.id)
    ).all()
    return [
        {
            "action": event.action,
            "actor": name,
            "at": event.at,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "comment": event.comment,
            "changes": event.changes,
        }
        for event, name in rows
    ]


def add_event(session: Session, **values: Any) -> None:
    session.add(SubmissionEvent(**values))


def add_notification(session: Session, **values: Any) -> None:
    session.add(Notification(**values))


def notifications(session: Session, user_id: int, paging: Paging) -> Page:
    conditions = [Notification.user_id == user_id]
    total = session.scalar(select(func.count()).select_from(Notification).where(*conditions))
    rows = session.scalars(
        select(Notification)
        .where(*conditions)
        .order_by(Notification.created.desc(), Notification.id.desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page(
        [
            {
                "id": row.id,
                "submission_id": row.submission_id,
                "subject": row.subject,
                "body": row.body,
                "created": row.created,
                "sent": row.sent,
            }
            for row in rows
        ],
        total or 0,
    )


def measurement(session: Session, measurement_id: int, lock: bool = False) -> Measurement | None:
    query = select(Measurement).where(Measurement.id == measurement_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)
