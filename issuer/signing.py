"""The app's side of the signing core: its keys, its DID document, its verifier.

``issuer.credentials`` is pure (keys and document loader are arguments);
this module supplies them from the database, the key files and the config.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, bindparam, func, select, true
from sqlalchemy.orm import Session

from issuer import keys, status
from issuer.cache import LRUCache, app_cache
from issuer.credentials import credential as credential_builder
from issuer.credentials import dids, eddsa_rdfc_2022, schema, vc_jwt
from issuer.credentials.verify import DEFAULT_CLOCK_SKEW
from issuer.credentials.verify import verify as run_verifier
from issuer.credentials.errors import CredentialError
from issuer.credentials.loader import document_loader
from issuer.database import reading
from issuer.errors import IssuerError
from issuer.identity import issuer_did
from issuer.models import Credential, IssuerKey, StatusEntry, StatusList, User

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
    """The stored and served form: UTF-8 JSON indented by two spaces. RDF is what is signed, but we keep these
    bytes forever anyway.

    orjson writes the text ``json.dumps(document, ensure_ascii=False, indent=2)`` writes (floats aside, which
    it spells its own way, ``1e16`` for ``1e+16``), twenty times faster: the standard library has no C encoder
    for indented output. What orjson refuses (integers beyond 64 bits, in a credential sent to the VC-API) the
    standard library still writes.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
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


# --------------------------------------------------------------------------- cached verification
#
# A verification answer is a function of its input and of three things that can change: the issuer's keys (the
# DID document the resolver trusts), the status lists the status check read, and the clock (validity dates). An
# answer is cached with the state of each as it was read, and reused only while one query finds them the same
# and the clock has not reached the next validity date. A revocation, a suspension or a key rotation therefore
# shows in the very next answer, in every worker.
#
# These reads run on every request to /verify/<id> and /api/v1/verify, so they are single Core statements through
# ``database.reading``: the reader engine's autocommit connection when the request is read-only, else the session's
# connection (no autoflush: services flush their writes, ``revocation.change``, ``keys.rotate``, before anything
# reads them back).

#: (keys, newest key id, keys retired): generating, rotating or retiring a key changes it. The DID document is
#: built from exactly these rows, and a row's kid and public key never change once written.
KeyEpoch = tuple[int, int, int]
#: Each of our status lists a verification read, with the state it read (None: there was no such list).
ListReads = tuple[tuple[uuid.UUID, status.ListState | None], ...]

ANSWER_CACHE_SIZE = 1024

_KEY_EPOCH = select(
    func.count(IssuerKey.id).label("keys"),
    func.coalesce(func.max(IssuerKey.id), 0).label("newest"),
    func.count(IssuerKey.retired_at).label("retired"),
).subquery("key_epoch")
_LIST_STATE = (StatusList.public_id, StatusList.version, StatusList.signed_version, StatusList.signed_document)

#: The key epoch and the state of the lists ``public_ids``: what a cached answer for any input is checked against.
_CURRENT_STATE = (
    select(_KEY_EPOCH, *_LIST_STATE)
    .select_from(_KEY_EPOCH)
    .outerjoin(StatusList, StatusList.public_id.in_(bindparam("public_ids", expanding=True)))
)
#: For a credential issued here: its row's status, its own status lists' state and the key epoch, in one query.
_ISSUED_STATE = (
    select(Credential.public, Credential.revoked_at, Credential.suspended_at, User.name.label("therapist_name"),
           _KEY_EPOCH, *_LIST_STATE)
    .join(User, User.id == Credential.therapist_id)
    .join(_KEY_EPOCH, true())
    .outerjoin(StatusEntry, StatusEntry.credential_id == Credential.id)
    .outerjoin(StatusList, StatusList.id == StatusEntry.list_id)
    .where(Credential.id == bindparam("credential_id"))
)


@dataclass(frozen=True)
class Answer:
    """A verification and what it rests on: the key epoch read before it ran, the lists it read, and the instant
    the clock alone would change it (None: never)."""

    verification: Verification
    keys: KeyEpoch
    lists: ListReads
    until: datetime | None

    def holds(self, keys: KeyEpoch, lists: Mapping[uuid.UUID, status.ListState], now: datetime) -> bool:
        return (self.keys == keys and all(lists.get(public_id) == state for public_id, state in self.lists)
                and (self.until is None or now < self.until))

    def unchanged(self, connection: Connection) -> bool:
        """Whether this answer still holds, by one query on ``connection`` (a check for ``issuer.replay``)."""
        return self.holds(*_current_state(connection, self), datetime.now(UTC))


def _read_state(rows: Sequence[Row[Any]]) -> tuple[KeyEpoch, dict[uuid.UUID, status.ListState]]:
    """(key epoch, {list public id: state}) from rows of ``_CURRENT_STATE`` or ``_ISSUED_STATE``."""
    first = rows[0]
    lists = {row.public_id: status.list_state(row.version, row.signed_version, row.signed_document)
             for row in rows if row.public_id is not None}
    return (int(first.keys), int(first.newest), int(first.retired)), lists


def _current_state(
    connection: Connection, cached: Answer | None
) -> tuple[KeyEpoch, dict[uuid.UUID, status.ListState]]:
    """The key epoch and the state of the lists ``cached`` read (none without an answer), in one query."""
    public_ids = [public_id for public_id, _ in cached.lists] if cached is not None else []
    return _read_state(connection.execute(_CURRENT_STATE, {"public_ids": public_ids}).all())


def _answers() -> LRUCache[tuple[str, Any], Answer]:
    return app_cache("signing.answers", ANSWER_CACHE_SIZE)


def _digest(data: str | bytes | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def _validity_turn(credential: Mapping[str, Any] | None, now: datetime) -> datetime | None:
    """The next instant after ``now`` at which the verifier's validity check flips for ``credential``, or None.

    It follows that check: validFrom/validUntil, or VC 1.1's issuanceDate/expirationDate when validFrom is
    absent, each widened by the clock skew the verifier allows. A date that cannot be read fails the check at
    any time, so it sets no limit.
    """
    if not isinstance(credential, Mapping):
        return None
    start, end = ("validFrom", "validUntil")
    if "validFrom" not in credential and "issuanceDate" in credential:
        start, end = "issuanceDate", "expirationDate"
    try:
        turns = [vc_jwt.parse_datetime(credential.get(start), start) - DEFAULT_CLOCK_SKEW]
        if end in credential:
            turns.append(vc_jwt.parse_datetime(credential[end], end) + DEFAULT_CLOCK_SKEW)
    except ValueError:
        return None
    return min((turn for turn in turns if turn > now), default=None)


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


def _verify_inner(session: Session, inner: list[Any], *, depth: int) -> tuple[CheckView, list[Answer]]:
    """CLR 2.0: each credential inside keeps its own proof; every one must verify too."""
    if depth >= 1:
        return CheckView("credentials", False, "credentials nested inside a nested credential are not accepted"), []
    if len(inner) > MAX_INNER_CREDENTIALS:
        return CheckView("credentials", False, f"more than {MAX_INNER_CREDENTIALS} credentials inside; not checked"), []
    failed, answers = [], []
    for n, item in enumerate(inner, start=1):
        answer = _answer(session, item, depth=depth + 1)
        answers.append(answer)
        if not answer.verification.verified:
            name = item.get("name") if isinstance(item, dict) else None
            failed.append(f"#{n} {name or ''}: {answer.verification.summary}".strip())
    if failed:
        return CheckView("credentials", False, "inner credentials that do not verify: " + "; ".join(failed)), answers
    return CheckView("credentials", True, f"all {len(inner)} credentials inside verify"), answers


def _verify_now(session: Session, data: str | bytes | dict[str, Any], *, keys: KeyEpoch, now: datetime,
                depth: int) -> Answer:
    """Run the full verifier, noting every list the status check reads and when the validity check would flip."""
    seen: dict[uuid.UUID, status.ListState | None] = {}
    result = run_verifier(data, document_loader=DOCUMENT_LOADER, resolver=resolver(session),
                          status_checker=status.checker(session, seen=seen), now=now)
    checks = [CheckView(c.name, c.ok, c.message) for c in result.checks]
    readable = not any(c.name == "format" and c.ok is False for c in checks)
    verified = result.verified
    until = _validity_turn(result.credential, now)
    inner = _inner_credentials(result.credential)
    if inner is not None and not verified:
        checks.append(CheckView("credentials", None, "not checked: the outer credential does not verify"))
    elif inner is not None:
        check, answers = _verify_inner(session, inner, depth=depth)
        checks.append(check)
        verified = verified and bool(check.ok)
        for answer in answers:
            for public_id, state in answer.lists:
                if seen.setdefault(public_id, state) != state:
                    until = now  # a list changed while we read it: this answer serves this request only
            if answer.until is not None:
                until = answer.until if until is None else min(until, answer.until)
    verification = Verification(verified=verified, readable=readable, checks=checks,
                                warnings=list(result.warnings), errors=list(result.errors), credential=result.credential)
    return Answer(verification, keys, tuple(seen.items()), until)


def _answer(session: Session, data: str | bytes | dict[str, Any], *, depth: int) -> Answer:
    cache = _answers()
    key = ("input", _digest(data))
    now = datetime.now(UTC)
    cached = cache.get(key)
    with reading(session) as connection:
        keys, lists = _current_state(connection, cached)
    if cached is not None and cached.holds(keys, lists, now):
        return cached
    answer = _verify_now(session, data, keys=keys, now=now, depth=depth)
    cache.put(key, answer)
    return answer


def answer(session: Session, data: str | bytes | dict[str, Any]) -> Answer:
    """``verify_any``'s answer with what it rests on, for a caller that keeps the response (``issuer.replay``)."""
    return _answer(session, data, depth=0)


def verify_any(session: Session, data: str | bytes | dict[str, Any]) -> Verification:
    """Run the full verifier on any credential (cached, see above: one query when the answer is reused). Never raises."""
    return answer(session, data).verification


def verify_stored(session: Session, credential: Credential) -> Verification:
    return verify_any(session, credential.document)


@dataclass(frozen=True)
class IssuedRecord:
    """What the verification page shows of a credential issued here besides the verification, read with it."""

    id: uuid.UUID
    public: bool
    revoked_at: datetime | None
    suspended_at: datetime | None
    therapist_name: str


@dataclass(frozen=True)
class IssuedVerification:
    record: IssuedRecord
    answer: Answer

    @property
    def verification(self) -> Verification:
        return self.answer.verification

    def unchanged(self, connection: Connection) -> bool:
        """Whether ``verify_issued`` would give this very answer and record again, by one query on ``connection``."""
        state = _issued_state(connection, self.record.id)
        return state is not None and state[0] == self.record and self.answer.holds(*state[1:], datetime.now(UTC))


def _issued_state(
    connection: Connection, credential_id: uuid.UUID
) -> tuple[IssuedRecord, KeyEpoch, dict[uuid.UUID, status.ListState]] | None:
    """A credential's record, the key epoch and its status lists' state, in one query; None if there is no such
    credential."""
    rows = connection.execute(_ISSUED_STATE, {"credential_id": credential_id}).all()
    if not rows:
        return None
    first = rows[0]
    record = IssuedRecord(id=credential_id, public=first.public, revoked_at=first.revoked_at,
                          suspended_at=first.suspended_at, therapist_name=first.therapist_name)
    return (record, *_read_state(rows))


def verify_issued(session: Session, credential_id: uuid.UUID) -> IssuedVerification | None:
    """Verify a credential issued here, by id, for the public verification page; None if there is no such credential.

    One query reads everything that decides the answer: the row's status, the state of the credential's own two
    status lists and the key epoch. A credential's document never changes, so while those are as a cached answer
    saw them (and no validity date has passed) that answer stands, and the 16 KB document is not even read.
    """
    with reading(session) as connection:
        state = _issued_state(connection, credential_id)
    if state is None:
        return None
    record, keys, lists = state
    now = datetime.now(UTC)
    cache = _answers()
    cached = cache.get(("issued", credential_id))
    if cached is None or not cached.holds(keys, lists, now):
        document = session.scalar(select(Credential.document).filter_by(id=credential_id))
        cached = _verify_now(session, document, keys=keys, now=now, depth=0)
        cache.put(("issued", credential_id), cached)
    return IssuedVerification(record=record, answer=cached)


#: Status-list documents whose own proof was checked, by the digest of their JSON: the same content, the same answer.
LIST_PROOF_CACHE_SIZE = 256


def verify_list_credential(session: Session, list_credential: dict[str, Any]) -> bool:
    """Whether a BitstringStatusListCredential's own proof verifies (cached by content)."""
    cache: LRUCache[str, bool] = app_cache("signing.list_proofs", LIST_PROOF_CACHE_SIZE)
    key = _digest(list_credential)  # compact C-encoded JSON + SHA-256: cheaper than the indented text, and small
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = run_verifier(list_credential, document_loader=DOCUMENT_LOADER, resolver=resolver(session))
    ok = any(c.name == "proof" and c.ok for c in result.checks) and not any(c.ok is False for c in result.checks)
    cache.put(key, ok)
    return ok
