"""Bookkeeping of ingestion: runs, quarantined headers, headers excluded by a rule."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from . import Base

RUN_STATUSES = ("running", "succeeded", "failed")


class IngestionRun(Base):
    """One ``obsportal ingest``: what it read and what became of every header.

    ``read_count = accepted_count + excluded_count + rejected_count`` once a run is over;
    ``changed_count`` is how many accepted exposures were new or different.
    """

    __tablename__ = "ingestion_runs"
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATUSES}", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(Text, server_default="running")
    read_count: Mapped[int] = mapped_column(Integer, server_default="0")
    accepted_count: Mapped[int] = mapped_column(Integer, server_default="0")
    changed_count: Mapped[int] = mapped_column(Integer, server_default="0")
    excluded_count: Mapped[int] = mapped_column(Integer, server_default="0")
    rejected_count: Mapped[int] = mapped_column(Integer, server_default="0")
    excluded_by_rule: Mapped[dict[str, int]] = mapped_column(JSONB, server_default="{}")
    rejected_by_reason: Mapped[dict[str, int]] = mapped_column(JSONB, server_default="{}")
    #: Newest archive modification date seen (ESO source), where the next run resumes.
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class Reject(Base):
    """A header that could not be ingested, kept with the reason (quarantine)."""

    __tablename__ = "rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingestion_runs.id"), index=True)
    header_id: Mapped[str | None] = mapped_column(Text, index=True)
    source_name: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class ExcludedHeader(Base):
    """A header read and deliberately left out (sky, dark, fringe search…), with its rule.

    Remembering exclusions by header id keeps re-runs idempotent and lets a header that a
    corrected rule now accepts move into ``exposures`` (and back) without leftovers.
    """

    __tablename__ = "excluded_headers"

    header_id: Mapped[str] = mapped_column(Text, primary_key=True)
    instrument_name: Mapped[str | None] = mapped_column(Text)
    classification_rule: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ingestion_run_id: Mapped[int] = mapped_column(ForeignKey("ingestion_runs.id"), index=True)
