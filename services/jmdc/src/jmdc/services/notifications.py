"""Messages recorded for a submitter each time their submission moves, ready to be e-mailed.

A mailer (outside this service) sends the rows whose ``sent`` is empty and stamps them.
"""

from sqlalchemy.orm import Session

from jmmc_core.paging import Page, Paging

from ..schema import Submission
from ..storage import submissions as storage

#: What each action means to the submitter: (subject, first paragraph).
MESSAGES = {
    "submitted": (
        "received",
        "We have received your submission. A moderator will check it; you will hear from us"
        " when they have.",
    ),
    "resubmitted": (
        "received again",
        "We have received your corrected submission. A moderator will check it again.",
    ),
    "accepted": (
        "accepted",
        "A moderator has accepted your submission: it is now measurement {measurement_id} of"
        " the catalogue and will be part of its next release.",
    ),
    "rejected": ("rejected", "A moderator has rejected your submission."),
    "changes_requested": (
        "changes requested",
        "A moderator asks you to change your submission before it can be accepted. Edit it,"
        " then submit it again.",
    ),
}


def notify(
    session: Session,
    submission: Submission,
    action: str,
    username: str | None,
    comment: str | None,
    prefix: str,
) -> None:
    """Record the message telling the submitter that ``action`` happened to ``submission``."""
    what, paragraph = MESSAGES[action]
    star = submission.id1 + (f" ({submission.bibcode})" if submission.bibcode else "")
    lines = [
        f"Dear {username or 'submitter'},",
        "",
        f"Your JMDC submission {submission.id} ({star}):",
        paragraph.format(measurement_id=submission.measurement_id),
    ]
    if comment:
        lines += ["", "The moderator's comment:", comment]
    lines += ["", f"Your submission: {prefix}/submissions/{submission.id}", "", "-- JMDC"]
    storage.add_notification(
        session,
        user_id=submission.submitter_id,
        submission_id=submission.id,
        subject=f"JMDC submission {submission.id} {what}: {submission.id1}",
        body="\n".join(lines),
    )


def of_user(session: Session, user_id: int, paging: Paging) -> Page:
    return storage.notifications(session, user_id, paging)
