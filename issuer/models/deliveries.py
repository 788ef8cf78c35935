"""OpenID4VCI holder binding: the nonces wallets sign into their key proofs, and the holder-bound credentials
delivered to wallets.

An award (a :class:`~issuer.models.credentials.Credential`) may be delivered many times, to many wallets: each
delivery is a credential of its own (its own id, its own status-list entries, its own signature) whose
``credentialSubject.id`` is the key the wallet proved it holds. Revoking or suspending the award does the same
to every delivery of it (``issuer.issuance.deliveries``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.base import Base
from issuer.models.credentials import Credential, RevocationState


class WalletNonce(Base):
    """A ``c_nonce`` from the Nonce Endpoint (OID4VCI 7), stored as its SHA-256: short-lived, used once."""

    __tablename__ = "wallet_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class WalletDelivery(RevocationState, Base):
    """One holder-bound credential handed to a wallet for an award, kept exactly as signed."""

    __tablename__ = "wallet_deliveries"

    #: The credential's id is ``urn:uuid:<id>``; its status-list entries are held under this id.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id"), index=True)
    #: The wallet's key as a DID (``did:key``, or ``did:jwk``, also for a bare ``jwk`` proof): the subject id.
    holder_did: Mapped[str] = mapped_column(Text)
    #: The OID4VCI credential configuration it was delivered in (``ldp_vc``).
    configuration_id: Mapped[str] = mapped_column(String(100))
    #: The signed credential, byte for byte as delivered, and the SHA-256 of its canonical JSON: what the verifier
    #: compares a presented credential against (``issuer.verification.registry``).
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The Ed25519 kid that signed its proof.
    key_id: Mapped[str] = mapped_column(String(100))
    #: The access token it was delivered under.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_tokens.id", ondelete="SET NULL"), index=True)
    issued_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[dt.datetime | None]
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    credential: Mapped[Credential] = relationship()

    @property
    def document_id(self) -> str:
        return f"urn:uuid:{self.id}"
