"""The professional cycle's own records: continuing-education activities, supervised clinical sessions, and the
qualifications of the supervisors who attest them (issue 19; the rules are in ``issuer.recertification.ledger``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base


class CreditActivity(Base):
    """One continuing-education activity in a therapist's ledger.

    ``state``: ``submitted`` when recorded, then ``approved`` or ``returned`` (with a reason) by an assigned
    supervisor or an administrator, once: a decision is final (a returned activity is recorded again, corrected).
    The credits are ``minutes / minutes_per_credit``, the ratio of the policy in force when it was recorded, kept
    on the row so a later policy change never rewrites what was approved.
    """

    __tablename__ = "credit_activities"
    __table_args__ = (
        Index("ix_credit_activities_therapist_state_on", "therapist_id", "state", "activity_on"),
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_range"),
        CheckConstraint("minutes_per_credit > 0", name="minutes_per_credit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    activity_on: Mapped[dt.date]
    minutes: Mapped[int]
    minutes_per_credit: Mapped[int]
    category: Mapped[str] = mapped_column(String(40))
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    evidence_note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)

    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class SupervisedSession(Base):
    """One clinical session a therapist worked under a supervisor's supervision, logged by that supervisor."""

    __tablename__ = "supervised_sessions"
    __table_args__ = (
        Index("ix_supervised_sessions_therapist_on", "therapist_id", "session_on"),
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_on: Mapped[dt.date]
    minutes: Mapped[int]
    setting: Mapped[str] = mapped_column(String(100))
    population: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]

    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])


class SupervisorQualification(Base):
    """A supervisor's professional credential (e.g. MT-BC and its number), recorded by an administrator.

    Withdrawn (``withdrawn_at``) rather than deleted: credentials already issued name it in their evidence.
    """

    __tablename__ = "supervisor_qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_name: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(100))
    issuing_body: Mapped[str] = mapped_column(String(200))
    valid_until: Mapped[dt.date | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]

    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    def describe(self) -> str:
        """``MT-BC no. 12345 (Certification Board for Music Therapists, valid until 2028-01-31)``."""
        until = f", valid until {self.valid_until.isoformat()}" if self.valid_until else ""
        return f"{self.credential_name} no. {self.number} ({self.issuing_body}{until})"
