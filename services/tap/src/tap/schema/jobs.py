"""Async TAP jobs (UWS): one row per job, everything a web or worker process needs to know.

The queue itself is procrastinate's (its tables live in the same schema, created by the
migrations from procrastinate's own SQL); ``queue_job_id`` links a job to its queue entry.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from . import Base

#: UWS 1.1 phases a TAP job goes through here (HELD, SUSPENDED and ARCHIVED are never used).
PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED")


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"phase IN ({', '.join(repr(phase) for phase in PHASES)})", name="phase"),
        Index("ix_jobs_client_phase", "client", "phase"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(Text)
    #: The signed-in creator (accounts user id and name); NULL for an anonymous job.
    owner_id: Mapped[int | None] = mapped_column(index=True)
    owner_name: Mapped[str | None] = mapped_column(String(64))
    #: Whom the per-client limit counts against: ``user:<id>`` or ``address:<ip>``.
    client: Mapped[str] = mapped_column(String(128))
    phase: Mapped[str] = mapped_column(String(16))
    #: TAP parameters as given, names upper-cased.
    parameters: Mapped[dict[str, str]] = mapped_column(JSONB)
    #: Names of the inline upload parts saved in the job's folder.
    upload_parts: Mapped[list[str]] = mapped_column(JSONB)
    execution_duration: Mapped[int]
    creation_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    destruction_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    result_media_type: Mapped[str | None] = mapped_column(String(128))
    result_rows: Mapped[int | None] = mapped_column(BigInteger)
    result_overflow: Mapped[bool | None]
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)
