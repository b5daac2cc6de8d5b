"""What ingestion hands to storage: one record per header read, whatever became of it."""

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


def _pickled_as_values(cls: type) -> type:
    """Records travel from the worker processes to the parent: pickled as the tuple of their
    values (a slots dataclass otherwise goes through Python-level state methods, field by
    field), rebuilt by the constructor."""
    values = attrgetter(*(field.name for field in fields(cls)))
    cls.__reduce__ = lambda self: (cls, values(self))
    return cls


@_pickled_as_values
@dataclass(slots=True)
class Accepted:
    header_id: str
    exp_id: str
    obs_type: str
    grouping_key: str
    program_id: str | None
    program_title: str | None
    program_pi_coi: str | None
    ob_id: int | None
    target_name: str
    target_ra: float | None
    target_dec: float | None
    instrument_name: str
    instrument_mode: str | None
    instrument_submode: str | None
    interferometer_name: str
    interferometer_stations: str | None
    mjd_start: float | None
    mjd_end: float | None
    exposure_time: float | None
    projected_baselines: dict[str, Any]
    #: The baselines as the VOTables print them (services.baselines.format_baselines).
    projected_baselines_text: str | None
    seeing: float | None
    tau0: float | None
    temperature: float | None
    em_min: float | None
    em_max: float | None
    em_res_power: float | None
    validation_level: int
    validation_log: list[str]
    classification_rule: str
    date_release: datetime | None


@_pickled_as_values
@dataclass(slots=True)
class Excluded:
    header_id: str
    instrument_name: str
    classification_rule: str
    details: dict[str, str]


@_pickled_as_values
@dataclass(slots=True)
class Rejected:
    source_name: str
    header_id: str | None
    reason: str
    detail: str
