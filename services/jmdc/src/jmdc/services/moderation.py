"""Moderation: moderators accept, reject or ask for changes to submitted measurements.

An accepted submission becomes a catalogue measurement (origin ``submission``) in the same
transaction, or updates the measurement it corrects, the old values kept in the audit trail.
The submission row is locked first, so two moderators acting at once cannot both move it.
"""

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from jmmc_core.accounts import User
from jmmc_core.errors import Conflict, Forbidden, InvalidParameter, NotFound
from jmmc_core.paging import Page, Paging

from ..schema import Measurement, Submission
from ..storage import submissions as storage
from .submissions import Workflow, describe, record_event, values_of

#: Each action and the state it leads to (also the event's action and the notification's).
ACTIONS: dict[str, str] = {
    "accept": "accepted",
    "reject": "rejected",
    "request_changes": "changes_requested",
}
MAX_COMMENT_LENGTH = 4000


def queue(session: Session, paging: Paging) -> Page:
    """Submissions waiting for a moderator, the longest waiting first."""
    rows, total = storage.listing(session, paging, states=("submitted",), default_sort="updated")
    return Page([describe(submission, name) for submission, name in rows], total)


def comment_problem(action: str, comment: str | None) -> str | None:
    """What is wrong with a moderator's comment for ``action``, if anything."""
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        return f"at most {MAX_COMMENT_LENGTH} characters"
    if action != "accept" and not comment:
        return "required to reject or to ask for changes: say why"
    return None


def moderate(
    session: Session,
    workflow: Workflow,
    moderator: User,
    submission_id: int,
    action: str,
    comment: str | None,
) -> Submission:
    """Apply a moderator's ``action`` to a submitted submission; its audit and notification."""
    if action not in ACTIONS:
        raise InvalidParameter("action", f"one of {', '.join(ACTIONS)}")
    problem = comment_problem(action, comment)
    if problem:
        raise InvalidParameter("comment", problem)
    comment = (comment or "").strip() or None
    submission = storage.get(session, submission_id, lock=True)
    if submission is None:
        raise NotFound(f"no submission {submission_id}")
    if submission.submitter_id == moderator.id:
        raise Forbidden("a moderator cannot moderate their own submission")
    if submission.state != "submitted":
        raise Conflict(
            f"submission {submission_id} is {submission.state}; only submitted ones are moderated"
        )
    changes = _accept(session, workflow, submission) if action == "accept" else {}
    from_state = submission.state
    submission.state = ACTIONS[action]
    submission.moderator_comment = comment
    submission.updated = func.now()
    record_event(
        session,
        submission,
        moderator,
        ACTIONS[action],
        from_state,
        comment=comment,
        changes=changes,
        workflow=workflow,
    )
    return submission


def _accept(session: Session, workflow: Workflow, submission: Submission) -> dict[str, Any]:
    """The catalogue measurement the submission becomes; what changed in the catalogue."""
    values = values_of(submission)
    if submission.replaces_id is not None:
        measurement = storage.measurement(session, submission.replaces_id, lock=True)
        if measurement is None or measurement.withdrawn is not None:
            raise Conflict(
                f"measurement {submission.replaces_id} was withdrawn; it cannot be corrected"
            )
        changes = {
            name: [getattr(measurement, name), value]
            for name, value in values.items()
            if getattr(measurement, name) != value
        }
        for name, value in values.items():
            setattr(measurement, name, value)
        measurement.updated = func.now()
    else:
        measurement = Measurement(
            **values, origin="submission", submitted_by=submission.submitter_id
        )
        session.add(measurement)
        changes = {}
    star = workflow.resolver.resolve(session, submission.id1)
    if star.status == "found":
        measurement.ra, measurement.dec, measurement.simbad_id = star.ra, star.dec, star.identifier
    session.flush()
    submission.measurement_id = measurement.id
    return {**changes, "measurement_id": [None, measurement.id]}
