"""The JSON API's shapes for submissions, moderation and notifications."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..services.moderation import MAX_COMMENT_LENGTH

#: Bounds a JSON number must meet before any check (PostgreSQL's integer; doubles are checked
#: by the validation with the catalogue's limits).
MAX_ID = 2**31 - 1


class MeasurementFields(BaseModel):
    """The values of a proposed measurement; diameters and errors in mas."""

    model_config = ConfigDict(extra="forbid")

    id1: str | None = Field(None, max_length=200, description="Star name (preferably HD)")
    id2: str | None = Field(None, max_length=200, description="Name in the publication")
    ud_diameter: float | None = Field(None, description="Uniform-disk diameter (mas)")
    e_ud_diameter: float | None = Field(None, description="Error on the UD diameter (mas)")
    ld_diameter: float | None = Field(None, description="Limb-darkened diameter (mas)")
    e_ld_diameter: float | None = Field(None, description="Error on the LD diameter (mas)")
    band: str | None = Field(None, max_length=200, description="Band or wavelength as published")
    band_code: int | None = Field(None, ge=-32768, le=32767, description="1 (U) ... 12 (Q)")
    mu_lambda: float | None = Field(None, description="UD-to-LD conversion used by the authors")
    method: int | None = Field(
        None, ge=-32768, le=32767, description="1 optical interf., 2 lunar occ., 3 intensity"
    )
    notes: str | None = Field(None, max_length=2000)
    bibcode: str | None = Field(None, max_length=200, description="ADS bibcode (19 characters)")
    sinpe: bool = Field(False, description="The SIMBAD identifier is not precise enough")


class NewSubmission(MeasurementFields):
    draft: bool = Field(False, description="Keep it as a draft instead of submitting it")
    replaces_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="The catalogue measurement it corrects"
    )


class ProblemOut(BaseModel):
    field: str
    message: str
    severity: Literal["error", "warning"]
    link: str | None = None


class Validation(BaseModel):
    """What validation says of proposed values; ``valid`` when there is no error."""

    valid: bool
    problems: list[ProblemOut]


class SubmissionOut(MeasurementFields):
    model_config = ConfigDict(extra="ignore")

    id: int
    state: str
    submitter: str | None
    batch_id: str | None
    replaces_id: int | None
    measurement_id: int | None
    moderator_comment: str | None
    warnings: list[dict[str, Any]]
    created: datetime
    updated: datetime
    editable: bool


class EventOut(BaseModel):
    action: str
    actor: str | None
    at: datetime
    from_state: str | None
    to_state: str | None
    comment: str | None
    changes: dict[str, Any]


class SubmissionDetail(SubmissionOut):
    events: list[EventOut]
    replaced: dict[str, Any] | None = Field(
        None, description="The values of the measurement it corrects, as the catalogue has them"
    )


class SubmissionPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[SubmissionOut]


class RejectedRow(BaseModel):
    row: int = Field(description="Row of the file, the header being row 1")
    column: str
    message: str


class BatchReportOut(BaseModel):
    batch_id: str
    rows: int
    created: list[int]
    rejected: list[RejectedRow]
    already_uploaded: bool


class ModerationAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "reject", "request_changes"]
    comment: str | None = Field(
        None, max_length=MAX_COMMENT_LENGTH, description="Required to reject or ask for changes"
    )


class NotificationOut(BaseModel):
    id: int
    submission_id: int | None
    subject: str
    body: str
    created: datetime
    sent: datetime | None


class NotificationPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[NotificationOut]
