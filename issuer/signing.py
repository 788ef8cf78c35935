"""The app's side of the signing core: its keys, its DID document, its verifier.

``issuer.credentials`` is pure (keys and document loader are arguments);
this module supplies them from the database, the key files and the config.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from issuer import keys
from issuer.credentials import credential as credential_builder
from issuer.credentials import dids, eddsa_rdfc_2022, schema, vc_jwt
from issuer.credentials.verify import verify as run_verifier
from issuer.credentials.errors import CredentialError
from issuer.credentials.loader import document_loader
from issuer.errors import IssuerError
from issuer.identity import issuer_did
from issuer.models import Credential, IssuerKey

#: One loader for the process: the vendored contexts, parsed once.
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


def verification_method(kid: str) -> str:
    return f"{issuer_did()}#{kid}"


def did_document(session: Session) -> dict[str, Any]:
    """Every key, current and retired, so credentials signed before a rotation keep verifying."""
    return dids.did_document(issuer_did(), _key_material(keys.all_keys(session)))


def jwks(session: Session) -> dict[str, Any]:
    return dids.jwks(_key_material(keys.all_keys(session)), did=issuer_did())


def _key_material(rows: list[IssuerKey]) -> dict[str, Any]:
    """kid → public key: the Multikey for Ed25519, the JWK for RSA."""
    return {k.kid: (k.public_multibase if k.algorithm == keys.ED25519 else k.public_jwk) for k in rows}


def serialize(document: dict[str, Any]) -> str:
    """The stored and served form. RDF is what is signed, but we keep these bytes forever anyway."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def sign_document(session: Session, unsigned: dict[str, Any], *, now: datetime) -> tuple[dict[str, Any], str]:
    """Add a Data Integrity proof (eddsa-rdfc-2022) with the current Ed25519 key."""
    key = keys.signing_key(session, keys.ED25519)
    try:
        signed = eddsa_rdfc_2022.sign(unsigned, private_key=key.private_key,
                                      verification_method=verification_method(key.kid), created=now,
                                      document_loader=DOCUMENT_LOADER)
    except CredentialError as error:
        raise SigningFailed(f"could not sign: {error}") from error
    return signed, key.kid


def sign(session: Session, unsigned: dict[str, Any], *, now: datetime,
         schema_name: str = "achievementcredential") -> Signed:
    """Sign a credential both ways: the embedded proof first, then the VC-JWT over the result (OB 3.0 §8)."""
    signed, kid = sign_document(session, unsigned, now=now)
    problems = schema.validate(signed, schema_name)
    if problems:
        raise SigningFailed("the credential does not match the 1EdTech schema: " + "; ".join(problems))
    rsa = keys.signing_key(session, keys.RSA)
    try:
        token = vc_jwt.encode(signed, private_key=rsa.private_key, kid=verification_method(rsa.kid))
    except CredentialError as error:
        raise SigningFailed(f"could not sign the VC-JWT: {error}") from error
    return Signed(document=signed, document_text=serialize(signed), jwt=token, key_id=kid)


@dataclass(frozen=True)
class CheckView:
    name: str
    ok: bool | None
    message: str

    @property
    def state(self) -> str:
        return "ok" if self.ok else ("warn" if self.ok is None else "fail")

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.name, self.name.replace("_", " ").capitalize())


CHECK_TITLES = {
    "format": "Readable credential",
    "schema": "Open Badges 3.0 structure",
    "context": "Every field is defined",
    "proof": "Genuine signature",
    "issuer": "Issuer",
    "validity": "Within its validity dates",
    "status": "Not revoked or suspended",
    "credentials": "Every credential inside verifies",
}


@dataclass(frozen=True)
class Verification:
    verified: bool
    readable: bool
    checks: list[CheckView]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None

    @property
    def summary(self) -> str:
        failed = [c for c in self.checks if c.ok is False]
        return failed[0].message if failed else (self.errors[0] if self.errors else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": [{"check": c.name, "ok": c.ok, "message": c.message} for c in self.checks],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


def resolver(session: Session) -> Any:
    """Keys this verifier trusts: did:key by decoding, and our own did:web from our own key store."""
    return dids.KeyResolver(known_documents=[did_document(session)])


#: Verification results by input digest. A credential's bytes never change; what can change its answer is a
#: status list (any change bumps the status epoch, which is part of the key), the issuer's keys (the key set is
#: part of the key too) and the clock (validity dates: entries live at most VERIFY_CACHE_SECONDS).
_VERIFY_CACHE: OrderedDict[tuple[str, int, int], tuple[float, Verification]] = OrderedDict()
VERIFY_CACHE_SIZE = 2048
VERIFY_CACHE_SECONDS = 60.0


def _epochs(session: Session) -> tuple[int, int]:
    """(status epoch, key epoch) in one round trip: whatever could change a cached answer."""
    from sqlalchemy import func, select

    from issuer.models import StatusList

    row = session.execute(select(
        select(func.coalesce(func.sum(StatusList.version), 0)).scalar_subquery(),
        select(func.count(IssuerKey.id)).scalar_subquery(),
        select(func.count(IssuerKey.retired_at)).scalar_subquery(),
    )).one()
    return int(row[0]), int(row[1]) * 1_000_003 + int(row[2])


def _digest(data: str | bytes | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


#: A CLR holds one credential per level; this bounds the work one verification can ask for.
MAX_INNER_CREDENTIALS = 50


def _inner_credentials(credential: dict[str, Any] | None) -> list[Any] | None:
    """The credentials a CLR 2.0 ClrCredential carries, or None for any other credential."""
    if not isinstance(credential, dict):
        return None
    types = credential.get("type")
    if "ClrCredential" not in (types if isinstance(types, list) else [types]):
        return None
    subject = credential.get("credentialSubject")
    inner = subject.get("verifiableCredential") if isinstance(subject, dict) else None
    return inner if isinstance(inner, list) else ([inner] if inner is not None else [])


def _verify_inner(session: Session, inner: list[Any], *, depth: int) -> CheckView:
    """CLR 2.0: each credential inside keeps its own proof; every one must verify too."""
    if depth >= 1:
        return CheckView("credentials", False, "credentials nested inside a nested credential are not accepted")
    if len(inner) > MAX_INNER_CREDENTIALS:
        return CheckView("credentials", False, f"more than {MAX_INNER_CREDENTIALS} credentials inside; not checked")
    failed = []
    for n, item in enumerate(inner, start=1):
        result = verify_any(session, item, depth=depth + 1)
        if not result.verified:
            name = item.get("name") if isinstance(item, dict) else None
            failed.append(f"#{n} {name or ''}: {result.summary}".strip())
    if failed:
        return CheckView("credentials", False, "inner credentials that do not verify: " + "; ".join(failed))
    return CheckView("credentials", True, f"all {len(inner)} credentials inside verify")


def verify_any(session: Session, data: str | bytes | dict[str, Any], *, depth: int = 0) -> Verification:
    """Run the full verifier on any credential (cached, see above). Never raises."""
    from issuer import status

    key = (_digest(data), *_epochs(session))
    now = time.monotonic()
    hit = _VERIFY_CACHE.get(key)
    if hit is not None and now - hit[0] < VERIFY_CACHE_SECONDS:
        _VERIFY_CACHE.move_to_end(key)
        return hit[1]
    result = run_verifier(data, document_loader=DOCUMENT_LOADER, resolver=resolver(session),
                          status_checker=status.checker(session))
    checks = [CheckView(c.name, c.ok, c.message) for c in result.checks]
    readable = not any(c.name == "format" and c.ok is False for c in checks)
    verified = result.verified
    inner = _inner_credentials(result.credential)
    if inner is not None and not verified:
        checks.append(CheckView("credentials", None, "not checked: the outer credential does not verify"))
    elif inner is not None:
        check = _verify_inner(session, inner, depth=depth)
        checks.append(check)
        verified = verified and bool(check.ok)
    verification = Verification(verified=verified, readable=readable, checks=checks,
                                warnings=list(result.warnings), errors=list(result.errors), credential=result.credential)
    _VERIFY_CACHE[key] = (now, verification)
    if len(_VERIFY_CACHE) > VERIFY_CACHE_SIZE:
        _VERIFY_CACHE.popitem(last=False)
    return verification


def verify_stored(session: Session, credential: Credential) -> Verification:
    return verify_any(session, credential.document)


#: Verified status-list documents, by their exact text: the same bytes always give the same answer.
_LIST_CACHE: dict[str, bool] = {}
_LIST_CACHE_SIZE = 256


def verify_list_credential(session: Session, list_credential: dict[str, Any]) -> bool:
    """Whether a BitstringStatusListCredential's own proof verifies (cached by content)."""
    key = serialize(list_credential)
    cached = _LIST_CACHE.get(key)
    if cached is not None:
        return cached
    result = run_verifier(list_credential, document_loader=DOCUMENT_LOADER, resolver=resolver(session))
    ok = any(c.name == "proof" and c.ok for c in result.checks) and not any(c.ok is False for c in result.checks)
    if len(_LIST_CACHE) >= _LIST_CACHE_SIZE:
        _LIST_CACHE.pop(next(iter(_LIST_CACHE)))
    _LIST_CACHE[key] = ok
    return ok
