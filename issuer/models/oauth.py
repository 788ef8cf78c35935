"""OAuth 2.0 state for the OB 3.0 API and OID4VCI: clients, codes, tokens, offers, held credentials.

Every secret (client secret, authorization code, access and refresh token, pre-authorized code) is stored
as its SHA-256 only, like personal API tokens: a copy of the database gives nobody a working credential.
The methods are the ones Authlib's ``ClientMixin``, ``AuthorizationCodeMixin`` and ``TokenMixin`` expect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base, JSONDocument, utcnow
from issuer.models.credentials import Credential

#: The scope of the OID4VCI credential configuration (``OpenBadgeCredential_ldp_vc``): a wallet asks for it (or for
#: ``authorization_details`` of type ``openid_credential``) to collect the signed-in therapist's credentials. Any
#: registered client may ask for it; the therapist still approves it on the consent page.
OID4VCI_SCOPE = "oid4vci:OpenBadgeCredential"


def secret_hash(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (no salt needed: secrets are random, 256 bits)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class OAuthClient(Base):
    """A client registered through RFC 7591 dynamic client registration."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: None for public clients (token_endpoint_auth_method "none").
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    #: RFC 7591 client metadata as registered (redirect_uris, scope, grant_types, client_name, …).
    client_metadata: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    # --- Authlib ClientMixin -------------------------------------------------------------------------------
    @property
    def redirect_uris(self) -> list[str]:
        return list(self.client_metadata.get("redirect_uris") or [])

    @property
    def token_endpoint_auth_method(self) -> str:
        return str(self.client_metadata.get("token_endpoint_auth_method") or "client_secret_basic")

    @property
    def client_name(self) -> str:
        return str(self.client_metadata.get("client_name") or self.client_id)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(str(self.client_metadata.get("scope") or "").split()) | {OID4VCI_SCOPE}
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # RFC 6749 3.1.2: exact match

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret_hash is None:
            return False
        return hmac.compare_digest(self.client_secret_hash, secret_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.client_metadata.get("response_types") or ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.client_metadata.get("grant_types") or ["authorization_code"])


class OAuthAuthorizationCode(Base):
    """An authorization code, bound to client, user, redirect URI and PKCE challenge; used once."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    #: RFC 9396 ``authorization_details`` as requested and checked (OID4VCI ``openid_credential`` entries).
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]

    client: Mapped[OAuthClient] = relationship()
    user: Mapped[User] = relationship()

    # --- Authlib AuthorizationCodeMixin ----------------------------------------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at


class CredentialOffer(Base):
    """An OID4VCI credential offer for one issued credential, redeemed with its pre-authorized code once."""

    __tablename__ = "credential_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pre_authorized_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: OID4VCI ``tx_code``: the SHA-256 of the transaction code shown to the therapist (None: no code asked), and
    #: the wrong codes tried so far (past ``issuer.protocols.oauth.TX_CODE_ATTEMPTS`` the offer is spent).
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_code_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    redeemed_at: Mapped[dt.datetime | None]

    credential: Mapped[Credential] = relationship()
    user: Mapped[User] = relationship()


class OAuthToken(Base):
    """An access token (and its refresh token), hashed; expires, and can be revoked (RFC 7009)."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for OID4VCI pre-authorized tokens (anonymous wallet access).
    client_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: Set for tokens from a pre-authorized code: they reach that offer's credential only.
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("credential_offers.id"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    #: OID4VCI: the ``authorization_details`` answered with the token, ``credential_identifiers`` included (the
    #: awards this token may collect); None when none were answered.
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    refresh_expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    client: Mapped[OAuthClient | None] = relationship()
    user: Mapped[User] = relationship()
    offer: Mapped[CredentialOffer | None] = relationship()

    # --- Authlib TokenMixin ----------------------------------------------------------------------------------
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id is not None and self.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_refresh_token_valid(self) -> bool:
        return (self.revoked_at is None and self.refresh_expires_at is not None
                and utcnow() < self.refresh_expires_at)

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> OAuthClient | None:
        return self.client


class HeldCredential(Base):
    """A credential a user uploaded through ``POST /ims/ob/v3p0/credentials`` (upsertCredential), verified first.

    Kept exactly as received: JSON text for a Data Integrity credential, the compact JWS for a VC-JWT.
    ``credential_key`` is what OB 3.0 credential equality compares: the credential's ``id``.
    """

    __tablename__ = "held_credentials"
    __table_args__ = (UniqueConstraint("user_id", "credential_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_key: Mapped[str] = mapped_column(String(500))
    #: "ldp_vc" (JSON text in ``content``) or "jwt_vc" (compact JWS in ``content``).
    format: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()
