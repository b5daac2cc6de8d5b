"""The JSON API's shapes for releases, their differences and withdrawals."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_TITLE = 200
MAX_NOTE = 2000
MAX_REASON = 2000


class NewRelease(BaseModel):
    """What a curator gives to freeze the catalogue into the next release."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=MAX_TITLE, description="What the release is, in a few words")
    note: str | None = Field(None, max_length=MAX_NOTE, description="What changed, for readers")


class ReleaseChange(BaseModel):
    """A change a client may ask for; every one is refused (releases are immutable)."""

    title: str | None = Field(None, max_length=MAX_TITLE)
    note: str | None = Field(None, max_length=MAX_NOTE)


class ReleaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    released: datetime
    title: str
    note: str | None
    measurement_count: int
    files: dict[str, str] = Field(
        default_factory=dict, description="The release's VizieR files and exports, by name"
    )


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=MAX_REASON, description="Why, as the release diffs show it")


class FieldChange(BaseModel):
    old: Any
    new: Any


class ChangedMeasurement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    measurement_id: int
    id1: str
    fields: dict[str, FieldChange]


class WithdrawnMeasurement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    measurement_id: int
    id1: str
    withdrawn: datetime | None = Field(description="When it was withdrawn (None: removed)")
    reason: str | None


class ReleaseDiffOut(BaseModel):
    old: ReleaseOut
    new: ReleaseOut
    added: list[dict[str, Any]]
    changed: list[ChangedMeasurement]
    withdrawn: list[WithdrawnMeasurement]
