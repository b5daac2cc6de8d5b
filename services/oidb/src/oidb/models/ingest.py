"""API schemas of OIFITS submissions: what became of an uploaded file, and a file's report."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ReportMessage(BaseModel):
    severity: Literal["error", "warning", "info"]
    hdu: str | None = Field(None, description="The table concerned (OI_VIS2#2), None: the file")
    message: str


class Report(BaseModel):
    """The validation report of one file."""

    oifits_version: int | None = None
    messages: list[ReportMessage] = []


class IngestAnswer(BaseModel):
    """One submitted file: ``accepted`` (granules made), ``unchanged`` (these bytes were
    already in), ``rejected`` (answered with status 400; the reason is ``detail``)."""

    file_id: int
    collection_id: str
    filename: str
    state: Literal["accepted", "rejected", "unchanged"]
    granule_ids: list[int]
    reject_reason: str | None = None
    report: Report
    detail: str | None = Field(None, description="Why the file was rejected")
    parameter: str | None = Field(None, description="``file`` when the file was rejected")


class FileAnswer(BaseModel):
    """A submitted file as stored: its state, report and granules."""

    id: int
    collection_id: str
    filename: str
    md5: str
    size_bytes: int
    state: Literal["accepted", "rejected", "replaced"]
    reject_reason: str | None
    report: Report
    submitted: datetime
    granule_ids: list[int]
