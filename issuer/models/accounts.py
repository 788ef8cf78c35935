"""People: accounts with a role, supervisor ↔ therapist assignments, API tokens, login attempts."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.base import Base


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    THERAPIST = "therapist"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=20,
                                            values_callable=lambda roles: [r.value for r in roles]))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    #: Public profile at /u/<handle>, opt-in.
    handle: Mapped[str | None] = mapped_column(String(64), unique=True)
    public_profile: Mapped[bool] = mapped_column(default=False)
    #: This person's stable credentialSubject.id, as ``urn:uuid:<subject_id>`` (``subject_urn``): made at account
    #: creation and never changed, so every credential of one therapist names the same subject (OB 3.0 8.2.4.1: the
    #: VC-JWT ``sub``). Random, so it tells nothing about the account.
    subject_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    #: A DID the therapist says is theirs (profile; the OB API Profile id). Not proved, so never a credential's
    #: subject: credentials name a DID only when a wallet proved it holds its key (OpenID4VCI holder binding).
    did: Mapped[str | None] = mapped_column(String(500))
    #: Salt of the hashed e-mail identifier in this therapist's credentials.
    recipient_salt: Mapped[str] = mapped_column(String(64))
    #: Bumped by sign-out and password change: a session cookie carries the epoch it was signed in at, and one
    #: from an older epoch no longer signs anyone in (every session of the account ends on the server).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def subject_urn(self) -> str:
        """The stable ``credentialSubject.id`` of this person's credentials (``urn:uuid:…``)."""
        return f"urn:uuid:{self.subject_id}"

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot log in
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("supervisor_id", "therapist_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime]

    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])


class ApiToken(Base):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")  # every use of a token needs its account


class LoginAttempt(Base):
    """Failed logins, in the database so every worker sees the same count."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
