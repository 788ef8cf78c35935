"""Validity policies (how long a level's credential lasts and what renewing it takes) and expiry reminders sent.

A policy is set per framework (``level_id`` NULL) or per level; a level's own policy replaces its framework's
as a whole (``issuer.recertification.policy.policy_for``). No policy at all: credentials never expire and
nothing is required to renew them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base
from issuer.models.frameworks import Framework, Level


class ValidityPolicy(Base):
    __tablename__ = "validity_policies"
    __table_args__ = (
        # one policy per level, and one framework-wide policy (level_id NULL) per framework
        UniqueConstraint("level_id"),
        Index("uq_validity_policies_framework_default", "framework_id", unique=True,
              sqlite_where=text("level_id IS NULL"), postgresql_where=text("level_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    level_id: Mapped[int | None] = mapped_column(ForeignKey("levels.id", ondelete="CASCADE"))
    #: Calendar months from validFrom to validUntil; NULL: credentials do not expire.
    validity_months: Mapped[int | None]
    #: Continuing-education credits a renewal needs in the cycle; NULL: none.
    required_credits: Mapped[Decimal | None] = mapped_column(Numeric(8, 2, asdecimal=True))
    #: JSON object of category -> minimum credits within ``required_credits``, e.g. ``{"ethics": 3}``.
    category_minimums: Mapped[str] = mapped_column(Text, default="{}")
    #: Minutes of an activity that make one credit (50: one credit per 50-minute hour).
    minutes_per_credit: Mapped[int] = mapped_column(default=50)
    #: Supervised clinical minutes a level's completion requires; NULL: none.
    min_supervised_minutes: Mapped[int | None]
    #: Days before validUntil at which reminders go, comma-separated ("90,30,7"); empty: none.
    reminder_days: Mapped[str] = mapped_column(String(100), default="90,30,7")
    updated_at: Mapped[dt.datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    framework: Mapped[Framework] = relationship()
    level: Mapped[Level | None] = relationship()
    updated_by: Mapped[User | None] = relationship()


class ReminderNotice(Base):
    """One expiry reminder, claimed before it is sent: the unique (credential, lead days) makes it go once."""

    __tablename__ = "reminder_notices"
    __table_args__ = (UniqueConstraint("credential_id", "lead_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id"))
    lead_days: Mapped[int]
    sent_at: Mapped[dt.datetime]
