"""JSON shapes of the ObsPortal API (``/obsportal/api/...``), documented in its OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from ..schema.published import VALIDATION_LEVEL_MEANING

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a sorted listing."""

    total: int = Field(description="Records matching the request, over all pages")
    page: int
    page_size: int
    items: list[Item]


class ExposureSummary(BaseModel):
    exp_id: str
    obs_id: int
    obs_type: str
    program_id: str | None
    target_id: int
    target_name: str
    target_ra: float | None
    target_dec: float | None
    interferometer_name: str
    interferometer_stations: str | None
    instrument_name: str
    instrument_mode: str | None
    instrument_submode: str | None
    mjd_start: float | None
    mjd_end: float | None
    seeing: float | None = Field(description="arcsec")
    tau0: float | None = Field(description="seconds")
    temperature: float | None = Field(description="degrees Celsius")
    validation_level: int = Field(description=VALIDATION_LEVEL_MEANING)
    date_updated: datetime


class Exposure(ExposureSummary):
    header_id: str = Field(description="ESO DP.ID")
    program_title: str | None
    program_pi_coi: str | None
    exposure_time: float | None
    em_min: float | None = Field(description="metres")
    em_max: float | None = Field(description="metres")
    em_res_power: float | None
    validation_log: list[str]
    projected_baselines: dict[str, Any] | None = Field(
        description='{"U1-U2": {"length": {"start", "end"}, "angle": {"start", "end"}}}'
    )
    classification_rule: str
    date_release: datetime | None
    ingestion_run_id: int


class Observation(BaseModel):
    id: int
    obs_type: str
    program_id: str | None
    target_id: int
    target_name: str
    instrument_name: str
    instrument_mode: str | None
    instrument_submode: str | None
    interferometer_name: str
    interferometer_stations: str | None
    ob_id: int | None
    exposure_count: int


class Target(BaseModel):
    id: int
    #: As the observing block names it; ``ra``/``dec``: the telescope's first pointing.
    name: str
    ra: float | None
    dec: float | None
    #: SIMBAD's main identifier and ICRS position (``obsportal resolve-targets``).
    identifier: str | None
    identifier_ra: float | None
    identifier_dec: float | None
    #: ``found``, ``not_found`` (unknown to SIMBAD), or None: not checked yet.
    resolution: str | None
    exposure_count: int


class Program(BaseModel):
    id: str
    title: str | None
    pi_coi: str | None
    exposure_count: int


class IngestionRun(BaseModel):
    id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    read_count: int
    accepted_count: int
    changed_count: int
    excluded_count: int
    rejected_count: int
    excluded_by_rule: dict[str, int]
    rejected_by_reason: dict[str, int]
    error: str | None


class Reject(BaseModel):
    id: int
    run_id: int
    header_id: str | None
    source_name: str
    reason: str
    detail: str | None
