"""Single-use links sent by e-mail: invitations to open an account, and password resets.

Only the SHA-256 of each link's token is stored: a copy of the database opens no account. A link is used once
(``accepted_at`` / ``used_at`` set by one conditional UPDATE), and never after ``expires_at``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import Role, User
from issuer.models.base import Base


class Invitation(Base):
    """An administrator's invitation: the account is made, with the invitee's own password, when it is accepted."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=20,
                                            values_callable=lambda roles: [r.value for r in roles]))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    #: When the current link was sent (a resend replaces the link and moves this on).
    sent_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    #: The account the invitation became.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class PasswordReset(Base):
    """A "forgot password" link for one account."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()
