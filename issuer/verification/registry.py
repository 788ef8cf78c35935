"""This service's record of what it issued, which the verifier consults first.

A credential that names this service as its issuer is genuine only if this service issued that very document: its
content digest (JSON-LD) or its exact token (VC-JWT) is on record, as a level credential, as a holder-bound
delivery of one to a wallet, or as another issued document (a CLR, a VC-API issuance). Anything else naming this
service fails without canonicalizing a byte, however well it is signed: a leaked or retired key cannot make a new
credential pass. For a document on record, its proofs were verified when it was signed, so verifying it again needs
no canonicalization; what can change (its status, its validity dates, a key revoked after a compromise) is still
checked every time.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import bindparam, select, union_all

from issuer.credentials import vc_jwt
from issuer.credentials.digest import document_digest
from issuer.credentials.verify import OnRecord
from issuer.identity.profile import base_url, issuer_did
from issuer.models import Credential, IssuedDocument, IssuerKey, WalletDelivery
from issuer.platform.database import SessionLike, reading

_BY_DIGEST = union_all(
    select(Credential.key_id).where(Credential.digest == bindparam("digest")),
    select(IssuedDocument.key_id).where(IssuedDocument.digest == bindparam("digest")),
    select(WalletDelivery.key_id).where(WalletDelivery.digest == bindparam("digest")),
)
_JWT_OF_CREDENTIAL = select(Credential.jwt, Credential.key_id).where(Credential.id == bindparam("id"))
_BY_JWT_DIGEST = select(IssuedDocument.key_id).where(IssuedDocument.jwt_digest == bindparam("jwt_digest"))
_REVOKED = select(IssuerKey.kid, IssuerKey.revoked_at, IssuerKey.revocation_reason).where(
    IssuerKey.kid.in_(bindparam("kids", expanding=True)), IssuerKey.revoked_at.is_not(None))


def jwt_digest(token: str) -> str:
    """As ``issuance.signing.record_issued`` records it (a compact JWS is ASCII)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issuer_id(credential: Mapping[str, Any]) -> Any:
    """The credential's issuer id, whether ``issuer`` is a profile object or the id itself (unchecked)."""
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def own_credential_id(value: Any) -> uuid.UUID | None:
    """The UUID of ``{base}/credentials/<uuid>``, the id of every level credential issued here."""
    prefix = f"{base_url()}/credentials/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    try:
        return uuid.UUID(value[len(prefix):])
    except ValueError:
        return None


def _jwt_kid(token: str) -> str | None:
    header = vc_jwt.read_header_unchecked(token)
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid.rsplit("#", 1)[-1] if isinstance(kid, str) else None


def on_record(session: SessionLike) -> OnRecord:
    """The verifier's ``on_record`` hook for this service (see ``issuer.credentials.verify.OnRecord``).

    Returns None for other issuers, True for a document on record, False for one that is not, and a message for a
    document on record whose signing key was revoked after a compromise.
    """
    own = issuer_did()

    def decide(kind: Literal["ldp", "jwt"], credential: Mapping[str, Any], token: str | None) -> bool | str | None:
        if issuer_id(credential) != own:
            return None
        kids: list[str] = []
        with reading(session) as connection:
            if kind == "jwt" and token is not None:
                credential_id = own_credential_id(credential.get("id"))
                row = connection.execute(_JWT_OF_CREDENTIAL, {"id": credential_id}).first() if credential_id else None
                if row is not None and row.jwt == token:
                    kids.append(row.key_id)
                else:
                    key_id = connection.execute(_BY_JWT_DIGEST, {"jwt_digest": jwt_digest(token)}).scalar()
                    if key_id is None:
                        return False
                    kids.append(key_id)
                kid = _jwt_kid(token)
                if kid:
                    kids.append(kid)
            else:
                try:
                    digest = document_digest(credential)
                except (TypeError, ValueError):
                    return False
                key_id = connection.execute(_BY_DIGEST, {"digest": digest}).scalar()
                if key_id is None:
                    return False
                kids.append(key_id)
            revoked = connection.execute(_REVOKED, {"kids": kids}).first()
        if revoked is not None:
            return (f"signed with key {revoked.kid}, which was revoked on {revoked.revoked_at:%Y-%m-%d} after a "
                    f"compromise ({revoked.revocation_reason or 'no reason given'}); ask its holder for the "
                    "credential re-issued in its place")
        return True

    return decide
