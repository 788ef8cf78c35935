"""Bulk issuance jobs: an uploaded CSV's rows, issued one by one by ``issuer worker`` (issuer.issuance.jobs)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base


class BulkJob(Base):
    """One confirmed upload. ``state``: ``running`` while a row waits for the worker, then ``finished``."""

    __tablename__ = "bulk_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    finished_at: Mapped[dt.datetime | None]

    created_by: Mapped[User] = relationship()
    rows: Mapped[list[BulkJobRow]] = relationship(back_populates="job", order_by="BulkJobRow.line")


class BulkJobRow(Base):
    """One line of the file, as uploaded. ``state``: pending, issued, skipped (issued before) or failed."""

    __tablename__ = "bulk_job_rows"
    __table_args__ = (Index("ix_bulk_job_rows_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_jobs.id"), index=True)
    line: Mapped[int]
    therapist_email: Mapped[str] = mapped_column(String(320))
    level: Mapped[str] = mapped_column(String(200))
    completion_date: Mapped[str] = mapped_column(String(40))
    supervisor_email: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(1000), default="")
    credential_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credentials.id"))
    done_at: Mapped[dt.datetime | None]

    job: Mapped[BulkJob] = relationship(back_populates="rows")
