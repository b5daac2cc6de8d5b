"""HTTP routes of JMDC: submissions (form, API, batch files), moderation, notifications.

Submitting needs the submitter role, moderating the moderator role (403 otherwise); a
submission is visible to its submitter and to moderators only (404 for anyone else). Writes
made with the session cookie carry its CSRF secret (forms: ``csrf_token``; API:
``X-CSRF-Token``), as the account pages do.
"""

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jmmc_core.accounts import User
from jmmc_core.accounts.dependencies import Authenticated, Authentication, check_csrf
from jmmc_core.errors import Forbidden, HtmlRoute, JsonRoute
from jmmc_core.paging import MAX_PAGE, Paging, PagingDep
from jmmc_core.web import add_template_folder, render

from ..dependencies import JmdcRuntime, RuntimeDep
from ..models import submissions as models
from ..schema.catalogue import BAND_CODES, METHODS
from ..services import moderation, notifications, submissions
from ..services.resolver import Resolver
from ..services.submissions import Workflow
from ..services.validation import FIELDS, by_field, errors_of

add_template_folder(FilePath(__file__).resolve().parents[1] / "templates")

api = APIRouter(
    prefix="/api",
    tags=["submissions"],
    route_class=JsonRoute,
    responses=JsonRoute.errors(401, 403, 409),
)
pages = APIRouter(route_class=HtmlRoute, include_in_schema=False)

SubmissionId = Annotated[int, Path(ge=1, le=models.MAX_ID)]
BatchId = Annotated[str, Path(max_length=64, pattern="^[0-9a-f]+$")]
CsrfHeader = Annotated[
    str | None,
    Header(alias="X-CSRF-Token", description="The session's CSRF secret, with the session cookie"),
]
CsrfField = Annotated[str, Form(max_length=200)]
PAGE_SIZE = 50
#: Messages shown under one's submissions.
RECENT_MESSAGES = 10


def _workflow(runtime: RuntimeDep) -> Workflow:
    return Workflow(Resolver(runtime.settings), runtime.settings.public_prefix)


WorkflowDep = Annotated[Workflow, Depends(_workflow)]


def _with_role(role: str) -> Any:
    """The signed-in user holding ``role``, for reading (401 anonymous, 403 without it)."""

    def user_with_role(found: Authenticated) -> Authentication:
        if not found.user.has_role(role):
            raise Forbidden(f"this needs the {role} role")
        return found

    return Depends(user_with_role)


def _writer(role: str) -> Any:
    """The signed-in user holding ``role`` of an API write, its CSRF secret checked."""

    def writer(found: Authenticated, csrf: CsrfHeader = None) -> User:
        check_csrf(found, csrf)
        if not found.user.has_role(role):
            raise Forbidden(f"this needs the {role} role")
        return found.user

    return Depends(writer)


Submitter = Annotated[Authentication, _with_role("submitter")]
Moderator = Annotated[Authentication, _with_role("moderator")]
SubmitterWrite = Annotated[User, _writer("submitter")]
ModeratorWrite = Annotated[User, _writer("moderator")]


# JSON API ---------------------------------------------------------------------------------


@api.post("/submissions", status_code=201, summary="Propose a measurement")
def create_submission(
    runtime: RuntimeDep, workflow: WorkflowDep, user: SubmitterWrite, body: models.NewSubmission
) -> models.SubmissionDetail:
    """Checked as a moderator would; any error refuses it (400 listing every problem)."""
    fields = body.model_dump(exclude={"draft", "replaces_id"})
    with runtime.database.session() as session:
        submission = submissions.create(
            session, workflow, user, fields, draft=body.draft, replaces_id=body.replaces_id
        )
        return models.SubmissionDetail(**submissions.detail(session, user, submission.id))


@api.post("/submissions/validate", summary="Check proposed values without saving them")
def validate_submission(
    runtime: RuntimeDep, workflow: WorkflowDep, user: SubmitterWrite, body: models.NewSubmission
) -> models.Validation:
    fields = body.model_dump(exclude={"draft", "replaces_id"})
    with runtime.database.session() as session:
        problems = submissions.problems_of(session, workflow, fields, body.replaces_id)
    return models.Validation(
        valid=not errors_of(problems), problems=[problem.as_dict() for problem in problems]
    )


@api.get("/submissions", summary="My submissions and their state")
def list_submissions(
    runtime: RuntimeDep, found: Authenticated, paging: PagingDep
) -> models.SubmissionPage:
    with runtime.database.session() as session:
        page = submissions.listing(session, found.user, paging)
    return models.SubmissionPage(**page.as_json(paging))


@api.post(
    "/submissions/batch",
    status_code=201,
    summary="Upload a CSV or xlsx batch of drafts",
    responses=JsonRoute.errors(413),
)
def upload_batch(
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    user: SubmitterWrite,
    file: Annotated[UploadFile, File(description="CSV (header row) or xlsx (first sheet)")],
) -> models.BatchReportOut:
    """Good rows become drafts of one batch; each bad row is reported with its column."""
    return models.BatchReportOut(**_upload(runtime, workflow, user, file).__dict__)


@api.post("/submissions/batch/{batch_id}/submit", summary="Send all drafts of my batch")
def submit_batch(
    runtime: RuntimeDep, workflow: WorkflowDep, user: SubmitterWrite, batch_id: BatchId
) -> list[models.SubmissionOut]:
    with runtime.database.session() as session:
        sent = submissions.submit_batch(session, workflow, user, batch_id)
        return [models.SubmissionOut(**submissions.describe(item, user.username)) for item in sent]


@api.get("/submissions/{submission_id}", summary="One submission and its audit trail")
def get_submission(
    runtime: RuntimeDep, found: Authenticated, submission_id: SubmissionId
) -> models.SubmissionDetail:
    with runtime.database.session() as session:
        return models.SubmissionDetail(**submissions.detail(session, found.user, submission_id))


@api.put("/submissions/{submission_id}", summary="Change my draft or a submission sent back")
def edit_submission(
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    user: SubmitterWrite,
    submission_id: SubmissionId,
    body: models.MeasurementFields,
) -> models.SubmissionDetail:
    with runtime.database.session() as session:
        _, problems = submissions.edit(session, workflow, user, submission_id, body.model_dump())
        if errors_of(problems):
            raise submissions.InvalidSubmission(problems)
        return models.SubmissionDetail(**submissions.detail(session, user, submission_id))


@api.post("/submissions/{submission_id}/submit", summary="Send my draft to the moderators")
def submit_submission(
    runtime: RuntimeDep, workflow: WorkflowDep, user: SubmitterWrite, submission_id: SubmissionId
) -> models.SubmissionDetail:
    with runtime.database.session() as session:
        submissions.submit(session, workflow, user, submission_id)
        return models.SubmissionDetail(**submissions.detail(session, user, submission_id))


@api.get("/moderation", summary="Submissions waiting for a moderator, oldest first")
def moderation_queue(
    runtime: RuntimeDep, found: Moderator, paging: PagingDep
) -> models.SubmissionPage:
    with runtime.database.session() as session:
        page = moderation.queue(session, paging)
    return models.SubmissionPage(**page.as_json(paging))


@api.post("/moderation/{submission_id}", summary="Accept, reject or ask for changes")
def moderate(
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    user: ModeratorWrite,
    submission_id: SubmissionId,
    body: models.ModerationAction,
) -> models.SubmissionDetail:
    with runtime.database.session() as session:
        moderation.moderate(session, workflow, user, submission_id, body.action, body.comment)
        return models.SubmissionDetail(**submissions.detail(session, user, submission_id))


@api.get("/notifications", summary="Messages about my submissions, newest first")
def list_notifications(
    runtime: RuntimeDep, found: Authenticated, paging: PagingDep
) -> models.NotificationPage:
    with runtime.database.session() as session:
        page = notifications.of_user(session, found.user.id, paging)
    return models.NotificationPage(**page.as_json(paging))


def _upload(
    runtime: JmdcRuntime, workflow: Workflow, user: User, file: UploadFile
) -> submissions.BatchReport:
    limit = runtime.settings.max_batch_bytes
    content = file.file.read(limit + 1)
    with runtime.database.session() as session:
        return submissions.upload_batch(session, workflow, user, content, limit)


# Pages ------------------------------------------------------------------------------------


def _csrf(found: Authentication) -> str:
    return found.web_session.csrf_secret if found.web_session else ""


def _form_context(found: Authentication) -> dict[str, Any]:
    return {
        "csrf_token": _csrf(found),
        "fields": FIELDS,
        "methods": METHODS,
        "band_codes": list(enumerate(BAND_CODES, start=1)),
    }


async def _form_values(request: Request) -> dict[str, str]:
    """The measurement fields of a posted form, as text (checked by the validation)."""
    form = await request.form(max_files=0, max_fields=len(FIELDS) + 5)
    return {name: value for name in FIELDS if isinstance(value := form.get(name), str)}


FormValues = Annotated[dict[str, str], Depends(_form_values)]


@pages.get("/submit", response_class=HTMLResponse)
def submit_page(
    request: Request,
    runtime: RuntimeDep,
    found: Submitter,
    replaces_id: Annotated[int | None, Query(ge=1, le=models.MAX_ID)] = None,
) -> HTMLResponse:
    """The form, empty or (``replaces_id``) holding a catalogue measurement to correct."""
    values: dict[str, Any] = {}
    if replaces_id is not None:
        with runtime.database.session() as session:
            values = submissions.correction_of(session, replaces_id)
    return render(
        request,
        "submit.html",
        values=values,
        problems={},
        replaces_id=replaces_id,
        **_form_context(found),
    )


@pages.post("/submit", response_class=HTMLResponse)
def submit_form(
    request: Request,
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Submitter,
    values: FormValues,
    csrf_token: CsrfField = "",
    draft: Annotated[str, Form(max_length=10)] = "",
    replaces_id: Annotated[int | None, Form(ge=1, le=models.MAX_ID)] = None,
) -> Response:
    check_csrf(found, csrf_token)
    with runtime.database.session() as session:
        submission, problems = submissions.propose(
            session, workflow, found.user, values, draft=bool(draft), replaces_id=replaces_id
        )
    if submission is None:
        context = _form_context(found) | {"values": values, "problems": by_field(problems)}
        return render(request, "submit.html", status=400, replaces_id=replaces_id, **context)
    return RedirectResponse(f"{workflow.prefix}/submissions/{submission.id}", status_code=303)


@pages.get("/submit/batch", response_class=HTMLResponse)
def batch_page(request: Request, found: Submitter) -> HTMLResponse:
    return render(request, "submit_batch.html", report=None, csrf_token=_csrf(found))


@pages.post("/submit/batch", response_class=HTMLResponse)
def batch_form(
    request: Request,
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Submitter,
    file: Annotated[UploadFile, File()],
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    check_csrf(found, csrf_token)
    report = _upload(runtime, workflow, found.user, file)
    return render(request, "submit_batch.html", report=report, csrf_token=_csrf(found))


@pages.post("/submit/batch/{batch_id}/submit", response_class=HTMLResponse)
def submit_batch_form(
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Submitter,
    batch_id: BatchId,
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(found, csrf_token)
    with runtime.database.session() as session:
        submissions.submit_batch(session, workflow, found.user, batch_id)
    return RedirectResponse(f"{workflow.prefix}/submissions", status_code=303)


@pages.get("/submissions", response_class=HTMLResponse)
def submissions_page(
    request: Request,
    runtime: RuntimeDep,
    found: Authenticated,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    paging = Paging(page, PAGE_SIZE)
    with runtime.database.session() as session:
        listing = submissions.listing(session, found.user, paging)
        messages = notifications.of_user(session, found.user.id, Paging(1, RECENT_MESSAGES))
    return render(
        request,
        "submissions.html",
        listing=listing,
        paging=paging,
        pages=paging.pages(listing.total),
        messages=messages.rows,
    )


def _submission_page(
    request: Request,
    runtime: JmdcRuntime,
    found: Authentication,
    submission_id: int,
    template: str = "submission.html",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    with runtime.database.session() as session:
        submission = submissions.detail(session, found.user, submission_id)
    context = {"values": submission, "problems": by_field(submission["warnings"])} | context
    return render(
        request,
        template,
        status=status,
        submission=submission,
        own=submission["submitter"] == found.user.username,
        **_form_context(found),
        **context,
    )


@pages.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(
    request: Request, runtime: RuntimeDep, found: Authenticated, submission_id: SubmissionId
) -> HTMLResponse:
    return _submission_page(request, runtime, found, submission_id)


@pages.post("/submissions/{submission_id}/edit", response_class=HTMLResponse)
def edit_form(
    request: Request,
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Submitter,
    submission_id: SubmissionId,
    values: FormValues,
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(found, csrf_token)
    with runtime.database.session() as session:
        _, problems = submissions.edit(session, workflow, found.user, submission_id, values)
    if errors_of(problems):
        return _submission_page(
            request,
            runtime,
            found,
            submission_id,
            status=400,
            failed=True,
            values=values,
            problems=by_field(problems),
        )
    return RedirectResponse(f"{workflow.prefix}/submissions/{submission_id}", status_code=303)


@pages.post("/submissions/{submission_id}/submit", response_class=HTMLResponse)
def submit_draft_form(
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Submitter,
    submission_id: SubmissionId,
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(found, csrf_token)
    with runtime.database.session() as session:
        submissions.submit(session, workflow, found.user, submission_id)
    return RedirectResponse(f"{workflow.prefix}/submissions/{submission_id}", status_code=303)


@pages.get("/moderation", response_class=HTMLResponse)
def moderation_page(
    request: Request,
    runtime: RuntimeDep,
    found: Moderator,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    paging = Paging(page, PAGE_SIZE)
    with runtime.database.session() as session:
        queue = moderation.queue(session, paging)
    return render(
        request, "moderation.html", queue=queue, paging=paging, pages=paging.pages(queue.total)
    )


@pages.get("/moderation/{submission_id}", response_class=HTMLResponse)
def moderation_item_page(
    request: Request, runtime: RuntimeDep, found: Moderator, submission_id: SubmissionId
) -> HTMLResponse:
    return _submission_page(request, runtime, found, submission_id, "moderation_item.html")


@pages.post("/moderation/{submission_id}", response_class=HTMLResponse)
def moderate_form(
    request: Request,
    runtime: RuntimeDep,
    workflow: WorkflowDep,
    found: Moderator,
    submission_id: SubmissionId,
    action: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=moderation.MAX_COMMENT_LENGTH)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(found, csrf_token)
    problem = moderation.comment_problem(action, comment)
    if problem:
        return _submission_page(
            request,
            runtime,
            found,
            submission_id,
            "moderation_item.html",
            status=400,
            comment=comment,
            comment_problems={"comment": [{"message": problem, "severity": "error"}]},
        )
    with runtime.database.session() as session:
        moderation.moderate(session, workflow, found.user, submission_id, action, comment)
    return RedirectResponse(f"{workflow.prefix}/moderation/{submission_id}", status_code=303)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
