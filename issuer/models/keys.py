"""Public metadata of the issuer's signing keys. Private keys live only in files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer.models.base import Base


class IssuerKey(Base):
    __tablename__ = "issuer_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The key id: the DID URL fragment and the JWT ``kid`` suffix; also the file name.
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    #: ``Ed25519`` (Data Integrity proofs) or ``RSA`` (VC-JWT, RS256).
    algorithm: Mapped[str] = mapped_column(String(20))
    #: Multikey ``z6Mk…`` for Ed25519; empty for RSA.
    public_multibase: Mapped[str | None] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    #: Rotated out: no longer signs, stays published so what it signed keeps verifying.
    retired_at: Mapped[dt.datetime | None]
    #: Revoked after a compromise: withdrawn from the DID document and the JWKS, and nothing it signed verifies.
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
