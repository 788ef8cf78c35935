"""Signing a credential with the issuer's current keys, and the form credentials are stored and served in.

``issuer.credentials`` is pure (keys and document loader are arguments); this module supplies them from the
key store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from issuer.credentials import credential as credential_builder
from issuer.credentials import eddsa_rdfc_2022, schema, vc_jwt
from issuer.credentials.digest import document_digest
from issuer.credentials.errors import CredentialError
from issuer.credentials.loader import document_loader
from issuer.errors import IssuerError
from issuer.identity import keystore
from issuer.identity.did_web import verification_method
from issuer.models import IssuedDocument, User
from issuer.platform import cache
from issuer.platform.database import SessionLike

#: The vendored contexts' loader for code outside an app (tests signing by hand); the app signs with its own
#: (``issuer.platform.cache.document_loader``), which owns its caches.
DOCUMENT_LOADER = document_loader

build_achievement_credential = credential_builder.build_achievement_credential


class SigningFailed(IssuerError):
    status_code = 500
    code = "signing_failed"


@dataclass(frozen=True)
class Signed:
    document: dict[str, Any]
    document_text: str
    jwt: str
    key_id: str



def record_issued(session: SessionLike, signed: Signed, *, kind: str, subject: User | None, now: datetime) -> None:
    """Put a signed document other than a level credential on this service's record (the verifier's registry)."""
    session.add(IssuedDocument(id=str(signed.document["id"]), kind=kind, digest=document_digest(signed.document),
                               jwt_digest=hashlib.sha256(signed.jwt.encode("ascii")).hexdigest(), key_id=signed.key_id,
                               subject_user_id=subject.id if subject is not None else None, issued_at=now))
    session.flush()


def serialize(document: dict[str, Any]) -> str:
    """The stored and served form: UTF-8 JSON indented by two spaces. RDF is what is signed, but we keep these
    bytes forever anyway.

    orjson writes the text ``json.dumps(document, ensure_ascii=False, indent=2)`` writes (floats aside, which
    it spells its own way, ``1e16`` for ``1e+16``), and much faster: the standard library has no C encoder
    for indented output. What orjson refuses (integers beyond 64 bits, in a credential sent to the VC-API) the
    standard library still writes.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, indent=2)


def sign_document(session: SessionLike, unsigned: dict[str, Any], *, now: datetime) -> tuple[dict[str, Any], str]:
    """Add a Data Integrity proof (eddsa-rdfc-2022) with the current Ed25519 key."""
    key = keystore.signing_key(session, keystore.ED25519)
    try:
        signed = eddsa_rdfc_2022.sign(unsigned, private_key=key.private_key,
                                      verification_method=verification_method(key.kid), created=now,
                                      document_loader=cache.document_loader())
    except CredentialError as error:
        raise SigningFailed(f"could not sign: {error}") from error
    return signed, key.kid


def sign(session: SessionLike, unsigned: dict[str, Any], *, now: datetime,
         schema_name: str = "achievementcredential") -> Signed:
    """Sign a credential both ways: the embedded proof first, then the VC-JWT over the result (OB 3.0 §8)."""
    signed, kid = sign_document(session, unsigned, now=now)
    problems = schema.validate(signed, schema_name)
    if problems:
        raise SigningFailed("the credential does not match the 1EdTech schema: " + "; ".join(problems))
    rsa = keystore.signing_key(session, keystore.RSA)
    try:
        token = vc_jwt.encode(signed, private_key=rsa.private_key, kid=verification_method(rsa.kid))
    except CredentialError as error:
        raise SigningFailed(f"could not sign the VC-JWT: {error}") from error
    return Signed(document=signed, document_text=serialize(signed), jwt=token, key_id=kid)

