"""Issued credentials, kept exactly as signed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base
from issuer.models.frameworks import Level
from issuer.models.records import LevelCompletion


class _Revocable(Protocol):
    revoked_at: dt.datetime | None
    suspended_at: dt.datetime | None


class RevocationState:
    """``state`` of a row that can be revoked or suspended: a credential, or a wallet's copy of one."""

    @property
    def state(self: _Revocable) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.suspended_at is not None:
            return "suspended"
        return "active"


class Credential(RevocationState, Base):
    __tablename__ = "credentials"
    # One current credential per therapist and level, enforced by the database. A credential re-signed after a key
    # compromise supersedes the old one (which is revoked and keeps its row), and so does a renewal (which leaves the
    # old one valid until its validUntil), so the rule covers current ones only.
    __table_args__ = (
        Index("uq_credentials_current_therapist_level", "therapist_id", "level_id", unique=True,
              sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("levels.id"))
    completion_id: Mapped[int] = mapped_column(ForeignKey("level_completions.id"), index=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The signed JSON-LD credential, byte for byte as issued (text, not JSONB: JSONB would reorder it).
    document: Mapped[str] = mapped_column(Text)
    #: The same credential as a VC-JWT (RS256).
    jwt: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime]
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    public: Mapped[bool] = mapped_column(default=True)
    revoked_at: Mapped[dt.datetime | None]
    #: The reason given at revocation or suspension: private (the audit log and the people who manage it).
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[dt.datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    #: A reason the issuer chose to publish with the revocation or suspension (public pages show it); optional.
    revocation_public_reason: Mapped[str | None] = mapped_column(Text)
    suspension_public_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    key_id: Mapped[str] = mapped_column(String(100))
    #: SHA-256 (hex) of the signed document in canonical JSON (``issuer.credentials.digest``): what the verifier
    #: compares a presented credential naming this service as issuer against.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The recipient's name as given at issuance: pages show this, never the account's current name.
    recipient_name: Mapped[str] = mapped_column(String(200))
    #: The credential this one re-signs (after the old one's key was revoked), and when this one was superseded.
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credentials.id"), index=True)
    superseded_at: Mapped[dt.datetime | None]
    #: The credential of the previous validity cycle that this one renews (``issuer.recertification.renewal``).
    renews_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credentials.id"), index=True)

    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    level: Mapped[Level] = relationship()
    completion: Mapped[LevelCompletion] = relationship()


class IssuedDocument(Base):
    """Any other document this service signed as its issuer (a CLR, a VC-API issuance): its registry entry.

    The verifier accepts a credential naming this service as issuer only if it is on record, here or as a
    :class:`Credential`; the document itself is handed to its holder and not kept.
    """

    __tablename__ = "issued_documents"

    #: The credential's ``id`` as issued (a URL or ``urn:uuid:``).
    id: Mapped[str] = mapped_column(String(2000), primary_key=True)
    #: ``clr`` or ``vcapi``.
    kind: Mapped[str] = mapped_column(String(20))
    #: SHA-256 (hex) of the signed document in canonical JSON, and of its compact VC-JWT.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    jwt_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The Ed25519 kid that signed its proof.
    key_id: Mapped[str] = mapped_column(String(100))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    issued_at: Mapped[dt.datetime]
