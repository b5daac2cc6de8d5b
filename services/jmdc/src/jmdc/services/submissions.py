"""Submissions: signed-in submitters propose measurements (form, API, CSV or xlsx batch),
see their own and their state, edit them while a draft or asked for changes, and submit them.

Each operation is one transaction of the caller's session: a proposal with an error is not
saved at all, a batch keeps its good rows and reports each bad one (row and column). Every
change is a :class:`SubmissionEvent`; each time a submission moves, the submitter gets a
notification.
"""

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy.orm import Session

from jmmc_core.accounts import User
from jmmc_core.errors import Conflict, InvalidParameter, NotFound
from jmmc_core.paging import Page, Paging

from ..models.catalogue import measurement_columns
from ..schema import Measurement, Submission
from ..storage import submissions as storage
from . import notifications
from .resolver import Resolver
from .validation import FIELDS, Problem, check, errors_of, parse_fields

#: States in which the submitter may still change a submission.
EDITABLE = ("draft", "changes_requested")
#: Rows of one batch file at most (each name may cost a resolver call).
MAX_BATCH_ROWS = 1000
#: The 2017 catalogue's FITS names of the diameters (the CSV exports say ``*_DIAM``).
FITS_2017_NAMES = {"ud_meas": "ud_diameter", "ld_meas": "ld_diameter", "e_ld_meas": "e_ld_diameter"}
#: Column names a batch file may use (lower case): each field's name, its header in the
#: catalogue's CSV and xlsx exports, its VizieR label, and the 2017 FITS names.
COLUMNS = FITS_2017_NAMES | {
    alias.lower(): column.name
    for column in measurement_columns
    for alias in (column.name, column.header, column.label)
}


class InvalidSubmission(InvalidParameter):
    """A proposal with errors: the first names the parameter, the message lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = errors_of(problems)
        others = "".join(f"; {problem.field}: {problem.message}" for problem in errors[1:])
        super().__init__(errors[0].field, errors[0].message + others)
        self.problems = problems


@dataclass
class Workflow:
    """What every submission operation needs besides the session."""

    resolver: Resolver
    prefix: str


def values_of(record: Submission | Measurement) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS}


def _checked_values(
    session: Session, workflow: Workflow, raw: Mapping[str, Any], replaces_id: int | None
) -> tuple[dict[str, Any], list[Problem]]:
    values, unreadable = parse_fields(raw)
    failed = {problem.field for problem in unreadable}
    problems = unreadable + [
        problem
        for problem in check(session, workflow.resolver, values, workflow.prefix, replaces_id)
        if problem.field not in failed
    ]
    if replaces_id is not None:
        replaced = storage.measurement(session, replaces_id)
        if replaced is None or replaced.withdrawn is not None:
            problems.append(
                Problem("replaces_id", f"no current catalogue measurement {replaces_id}")
            )
    return values, problems


def problems_of(
    session: Session, workflow: Workflow, raw: Mapping[str, Any], replaces_id: int | None = None
) -> list[Problem]:
    """What validation says of proposed values, nothing saved."""
    return _checked_values(session, workflow, raw, replaces_id)[1]


def record_event(
    session: Session,
    submission: Submission,
    actor: User,
    action: str,
    from_state: str | None,
    comment: str | None = None,
    changes: dict[str, Any] | None = None,
    workflow: Workflow | None = None,
) -> None:
    """The audit event of ``action``, and the submitter's notification when it moved."""
    storage.add_event(
        session,
        submission_id=submission.id,
        actor_id=actor.id,
        action=action,
        from_state=from_state,
        to_state=submission.state,
        comment=comment,
        changes=changes or {},
    )
    if workflow is not None and action in notifications.MESSAGES:
        username = storage.username(session, submission.submitter_id)
        notifications.notify(session, submission, action, username, comment, workflow.prefix)


def propose(
    session: Session,
    workflow: Workflow,
    user: User,
    raw: Mapping[str, Any],
    *,
    draft: bool = False,
    replaces_id: int | None = None,
    batch_id: str | None = None,
) -> tuple[Submission | None, list[Problem]]:
    """A new submission from ``raw`` values, or None and the problems when there are errors."""
    values, problems = _checked_values(session, workflow, raw, replaces_id)
    if errors_of(problems):
        return None, problems
    submission = Submission(
        **values,
        state="draft",
        submitter_id=user.id,
        batch_id=batch_id,
        replaces_id=replaces_id,
        warnings=[problem.as_dict() for problem in problems],
    )
    session.add(submission)
    session.flush()
    created = {name: [None, value] for name, value in values.items() if value not in (None, False)}
    record_event(session, submission, user, "created", None, changes=created)
    if not draft:
        submission.state = "submitted"
        record_event(session, submission, user, "submitted", "draft", workflow=workflow)
    return submission, problems


def create(
    session: Session,
    workflow: Workflow,
    user: User,
    raw: Mapping[str, Any],
    *,
    draft: bool = False,
    replaces_id: int | None = None,
) -> Submission:
    """:func:`propose`, raising :class:`InvalidSubmission` when there are errors."""
    submission, problems = propose(
        session, workflow, user, raw, draft=draft, replaces_id=replaces_id
    )
    if submission is None:
        raise InvalidSubmission(problems)
    return submission


def correction_of(session: Session, measurement_id: int) -> dict[str, Any]:
    """The values of a current catalogue measurement, to start its correction from."""
    measurement = storage.measurement(session, measurement_id)
    if measurement is None or measurement.withdrawn is not None:
        raise NotFound(f"no current catalogue measurement {measurement_id}")
    return values_of(measurement)


def visible(session: Session, user: User, submission_id: int, lock: bool = False) -> Submission:
    """A submission its submitter, or a moderator, may see; others learn nothing of it."""
    submission = storage.get(session, submission_id, lock=lock)
    if submission is None or (
        submission.submitter_id != user.id and not user.has_role("moderator")
    ):
        raise NotFound(f"no submission {submission_id} of yours")
    return submission


def own(session: Session, user: User, submission_id: int) -> Submission:
    """One of ``user``'s own submissions, locked for a change."""
    submission = storage.get(session, submission_id, lock=True)
    if submission is None or submission.submitter_id != user.id:
        raise NotFound(f"no submission {submission_id} of yours")
    return submission


def edit(
    session: Session, workflow: Workflow, user: User, submission_id: int, raw: Mapping[str, Any]
) -> tuple[Submission, list[Problem]]:
    """Change one's own draft (or a submission asked for changes); nothing saved on errors."""
    submission = own(session, user, submission_id)
    if submission.state not in EDITABLE:
        raise Conflict(
            f"submission {submission_id} is {submission.state}; only drafts and submissions"
            " asked for changes can be edited"
        )
    values, problems = _checked_values(session, workflow, raw, submission.replaces_id)
    if errors_of(problems):
        return submission, problems
    old = values_of(submission)
    changes = {name: [old[name], value] for name, value in values.items() if old[name] != value}
    for name, value in values.items():
        setattr(submission, name, value)
    submission.warnings = [problem.as_dict() for problem in problems]
    submission.updated = func.now()
    if changes:
        record_event(session, submission, user, "edited", submission.state, changes=changes)
    return submission, problems


def submit(session: Session, workflow: Workflow, user: User, submission_id: int) -> Submission:
    """Send one's draft (or corrected submission) to the moderators; warnings refreshed."""
    submission = own(session, user, submission_id)
    if submission.state not in EDITABLE:
        raise Conflict(f"submission {submission_id} is {submission.state} already")
    values = values_of(submission)
    problems = check(session, workflow.resolver, values, workflow.prefix, submission.replaces_id)
    if errors_of(problems):
        raise InvalidSubmission(problems)
    from_state = submission.state
    action = "resubmitted" if from_state == "changes_requested" else "submitted"
    submission.state = "submitted"
    submission.warnings = [problem.as_dict() for problem in problems]
    submission.updated = func.now()
    record_event(session, submission, user, action, from_state, workflow=workflow)
    return submission


def submit_batch(
    session: Session, workflow: Workflow, user: User, batch_id: str
) -> list[Submission]:
    """Send every draft of one's batch to the moderators, all or none."""
    drafts = [
        submission
        for submission in storage.batch(session, user.id, batch_id)
        if submission.state == "draft"
    ]
    if not drafts:
        raise NotFound(f"no draft in a batch {batch_id!r} of yours")
    return [submit(session, workflow, user, draft.id) for draft in drafts]


def listing(session: Session, user: User, paging: Paging) -> Page:
    """``user``'s own submissions, most recently changed first."""
    rows, total = storage.listing(session, paging, submitter_id=user.id)
    return Page([describe(submission, name) for submission, name in rows], total)


def describe(submission: Submission, submitter: str | None = None) -> dict[str, Any]:
    """A submission as the API and the pages show it."""
    return {
        "id": submission.id,
        "state": submission.state,
        "submitter": submitter,
        **values_of(submission),
        "batch_id": submission.batch_id,
        "replaces_id": submission.replaces_id,
        "measurement_id": submission.measurement_id,
        "moderator_comment": submission.moderator_comment,
        "warnings": submission.warnings,
        "created": submission.created,
        "updated": submission.updated,
        "editable": submission.state in EDITABLE,
    }


def detail(session: Session, user: User, submission_id: int) -> dict[str, Any]:
    """A visible submission with its audit trail."""
    submission = visible(session, user, submission_id)
    replaced = (
        storage.measurement(session, submission.replaces_id) if submission.replaces_id else None
    )
    return {
        **describe(submission, storage.username(session, submission.submitter_id)),
        "events": storage.events(session, submission_id),
        "replaced": values_of(replaced) if replaced else None,
    }


# Batch files ------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a batch file gave: the drafts kept and each rejected row's problems."""

    batch_id: str
    created: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: The same file was uploaded before: its drafts are those of the first upload.
    already_uploaded: bool = False
    rows: int = 0


def upload_batch(
    session: Session, workflow: Workflow, user: User, content: bytes, max_bytes: int
) -> BatchReport:
    """Keep the good rows of a CSV or xlsx file as one batch of drafts; report the bad ones.

    The batch's id is the file's digest: uploading the same file again creates nothing.
    """
    if not content:
        raise InvalidParameter("file", "the file is empty")
    if len(content) > max_bytes:
        raise InvalidParameter("file", f"larger than {max_bytes} bytes")
    rows = _rows(content)
    batch_id = hashlib.sha256(content).hexdigest()[:20]
    existing = storage.batch(session, user.id, batch_id)
    report = BatchReport(batch_id, already_uploaded=bool(existing), rows=len(rows))
    report.created = [submission.id for submission in existing]
    for number, raw in rows:
        if existing:
            problems = problems_of(session, workflow, raw)
            errors = errors_of(problems)
        else:
            submission, problems = propose(
                session, workflow, user, raw, draft=True, batch_id=batch_id
            )
            errors = errors_of(problems)
            if submission is not None:
                report.created.append(submission.id)
        report.rejected += [
            {"row": number, "column": problem.field, "message": problem.message}
            for problem in errors
        ]
    return report


def _rows(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The data rows of a batch file with their row numbers (the header is row 1)."""
    table = _xlsx_table(content) if content.startswith(b"PK\x03\x04") else _csv_table(content)
    rows = [row for row in table]
    if not rows:
        raise InvalidParameter("file", "no header row")
    header = [str(name or "").strip() for name in rows[0]]
    fields = []
    for name in header:
        if name.lower() not in COLUMNS:
            raise InvalidParameter(
                "file", f"unknown column {name!r}; columns are {', '.join(FIELDS)}"
            )
        fields.append(COLUMNS[name.lower()])
    if "id1" not in fields:
        raise InvalidParameter("file", "no id1 column (the star's name)")
    data = [
        (number, dict(zip(fields, row, strict=False)))
        for number, row in enumerate(rows[1:], start=2)
        if any(cell not in (None, "") for cell in row)
    ]
    if not data:
        raise InvalidParameter("file", "no data row under the header")
    if len(data) > MAX_BATCH_ROWS:
        raise InvalidParameter("file", f"more than {MAX_BATCH_ROWS} rows; split the file")
    return data


def _csv_table(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter("file", "neither an xlsx workbook nor UTF-8 CSV text") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        raise InvalidParameter("file", f"not readable as CSV: {error}") from None


def _xlsx_table(content: bytes) -> list[tuple[Any, ...]]:
    # Any failure of the workbook reader on a file from outside means the same to its sender.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            return list(workbook.worksheets[0].iter_rows(values_only=True))
        finally:
            workbook.close()
    except Exception:
        raise InvalidParameter("file", "not a readable xlsx workbook") from None
