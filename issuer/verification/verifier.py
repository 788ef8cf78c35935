"""Verifying any credential here, with cached answers that stay true: the page, the API and the replay cache ask it.

``verify_any`` takes pasted, uploaded or posted input; ``verify_stored`` a stored credential; ``verify_issued`` a
credential issued here, by id, with what the verification page shows of its record. ``answer`` is ``verify_any``
with what the answer rests on, for a caller that keeps the response (``issuer.platform.replay``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, true

from issuer.credentials.dates import validity_turn
from issuer.credentials.verify import DEFAULT_CLOCK_SKEW, read_credential
from issuer.credentials.verify import verify as run_verifier
from issuer.identity.did_web import resolver
from issuer.models import Credential, IssuerKey, StatusEntry, StatusList, TrustedIssuer
from issuer.platform.cache import BoundedCache, app_cache, document_loader
from issuer.platform.database import SessionLike, reading
from issuer.status_lists.lists import ListState, list_state
from issuer.verification import registry, status_check, trust
from issuer.verification.inputs import digest
from issuer.verification.results import CheckView, Verification, display_field

# --------------------------------------------------------------------------- cached verification
#
# A verification answer is a function of its input and of four things that can change: the issuer's keys (the
# DID document the resolver trusts), the trust list (which issuers are recognised, and by what name), the status
# lists the status check read, and the clock (validity dates). An
# answer is cached with the state of each as it was read, and reused only while one query finds them the same
# and the clock has not reached the next validity date. A revocation, a suspension or a key rotation therefore
# shows in the very next answer, in every worker.
#
# These reads run on every request to /verify/<id> and /api/v1/verify, so they are single Core statements through
# ``database.reading``: the reader engine's autocommit connection when the request is read-only, else the session's
# connection (no autoflush: services flush their writes, ``revocation.change``, ``keys.rotate``, before anything
# reads them back).

#: (keys, newest key id, keys retired, keys revoked, trusted issuers, newest trusted issuer id): generating, rotating,
#: retiring or revoking a key changes it, and so does any change to the trust list. The DID document is built from
#: exactly these rows, a key row's kid and public key never change once written, and a trust list entry is never
#: edited in place (its ids are never reused).
KeyEpoch = tuple[int, int, int, int, int, int]
#: Each of our status lists a verification read, with the state it read (None: there was no such list).
ListReads = tuple[tuple[uuid.UUID, ListState | None], ...]

ANSWER_CACHE_SIZE = 1024
#: The answers of one worker, all together: answers are small (no input is kept), ~1-4 KB each.
ANSWER_CACHE_BYTES = 4 * 1024 * 1024

_KEY_EPOCH = select(
    func.count(IssuerKey.id).label("keys"),
    func.coalesce(func.max(IssuerKey.id), 0).label("newest"),
    func.count(IssuerKey.retired_at).label("retired"),
    func.count(IssuerKey.revoked_at).label("revoked"),
    select(func.count(TrustedIssuer.id)).scalar_subquery().label("trusted"),
    select(func.coalesce(func.max(TrustedIssuer.id), 0)).scalar_subquery().label("newest_trusted"),
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
    select(Credential.public, Credential.revoked_at, Credential.suspended_at,
           Credential.recipient_name.label("therapist_name"), Credential.level_id, Credential.issued_at,
           Credential.valid_until, Credential.revocation_public_reason, Credential.suspension_public_reason,
           _KEY_EPOCH, *_LIST_STATE)
    .select_from(Credential)
    .join(_KEY_EPOCH, true())
    .outerjoin(StatusEntry, StatusEntry.credential_id == Credential.id)
    .outerjoin(StatusList, StatusList.id == StatusEntry.list_id)
    .where(Credential.id == bindparam("credential_id"))
)


@dataclass(frozen=True)
class Answer:
    """A verification and what it rests on: the key epoch read before it ran, the lists it read, the instant
    the clock alone would change it (None: never), and the instant it was verified at.

    It stands for ``at`` and later instants up to ``until``, never for an earlier one: an answer made at a frozen
    ``now`` past a credential's validUntil ("expired", and no later turn) must not answer for a ``now`` before it.
    """

    verification: Verification
    keys: KeyEpoch
    lists: ListReads
    until: datetime | None
    at: datetime

    def holds(self, keys: KeyEpoch, lists: Mapping[uuid.UUID, ListState], now: datetime) -> bool:
        return (self.keys == keys and all(lists.get(public_id) == state for public_id, state in self.lists)
                and self.at <= now and (self.until is None or now < self.until))

    def unchanged(self, connection: Connection) -> bool:
        """Whether this answer still holds, by one query on ``connection`` (a check for ``issuer.platform.replay``)."""
        return self.holds(*_current_state(connection, self), datetime.now(UTC))

    @property
    def approximate_size(self) -> int:
        """Bytes this answer holds, roughly (its cache entry's size)."""
        return self.verification.approximate_size + 256 + 160 * len(self.lists)

    @property
    def token(self) -> str:
        """One digest of what the answer says and of the state it rests on: equal tokens, equal answers."""
        return _token(self.verification.as_json(), self.verification.issuer_name, self.verification.name,
                      self.keys, sorted((str(public_id), state) for public_id, state in self.lists), self.until)


def _token(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _read_state(rows: Sequence[Row[Any]]) -> tuple[KeyEpoch, dict[uuid.UUID, ListState]]:
    """(key epoch, {list public id: state}) from rows of ``_CURRENT_STATE`` or ``_ISSUED_STATE``."""
    first = rows[0]
    lists = {row.public_id: list_state(row.version, row.signed_version, row.signed_document)
             for row in rows if row.public_id is not None}
    epoch = (int(first.keys), int(first.newest), int(first.retired), int(first.revoked), int(first.trusted),
             int(first.newest_trusted))
    return epoch, lists


def _current_state(
    connection: Connection, cached: Answer | None
) -> tuple[KeyEpoch, dict[uuid.UUID, ListState]]:
    """The key epoch and the state of the lists ``cached`` read (none without an answer), in one query."""
    public_ids = [public_id for public_id, _ in cached.lists] if cached is not None else []
    return _read_state(connection.execute(_CURRENT_STATE, {"public_ids": public_ids}).all())


def _answers() -> BoundedCache[tuple[str, Any], Answer]:
    """The app's verification answers, keyed by the input's digest (or a credential's id), bounded by bytes."""
    return app_cache("verification.answers", ANSWER_CACHE_SIZE, ANSWER_CACHE_BYTES)


def _keep(key: tuple[str, Any], answer: Answer) -> None:
    _answers().put(key, answer, size=answer.approximate_size + 128)


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


def _included(item: Any, n: int) -> str:
    """How an error names a credential inside a CLR: its name and id as it gives them, else its position."""
    name, credential_id = display_field(item, "name"), display_field(item, "id")
    label = f"Included credential '{name}'" if name else f"Included credential #{n}"
    return f"{label} ({credential_id})" if credential_id else label


def _inner_failure(item: Any, n: int, verification: Verification) -> str:
    """Why a credential inside a CLR does not verify, in plain words (its first failed check, in check order)."""
    failed = next((c for c in verification.checks if c.ok is False), None)
    message = failed.message if failed is not None else verification.summary
    if failed is None:
        what = f"does not verify: {message}" if message else "does not verify"
    elif failed.name == "status" and "revoked" in message:
        what = "is revoked"
    elif failed.name == "status" and "suspended" in message:
        what = "is suspended"
    elif failed.name == "validity" and message.startswith("Expired on "):
        what = "expired on " + message.removeprefix("Expired on ")
    elif failed.name == "validity" and message.startswith("expired: "):
        what = f"has expired ({message.removeprefix('expired: ')})"
    elif failed.name == "validity" and message.startswith("not yet valid: "):
        what = f"is not yet valid ({message.removeprefix('not yet valid: ')})"
    elif failed.name == "proof":
        what = f"has a signature that does not verify ({message})"
    elif failed.name == "issuer":
        what = f"is not from a recognised issuer ({message})"
    else:
        what = f"does not verify: {failed.title.lower()} failed ({message})"
    return f"{_included(item, n)} {what}"


def _verify_inner(session: SessionLike, inner: list[Any], *, depth: int,
                  now: datetime | None = None) -> tuple[CheckView, list[Answer], list[str]]:
    """CLR 2.0: each credential inside keeps its own proof; every one must verify too.

    Returns the ``credentials`` check, the inner answers, and the errors: one per credential that fails, in plain
    words ("Included credential 'Music Therapists: Developing' (https://…) is revoked").
    """
    if depth >= 1:
        message = "credentials nested inside a nested credential are not accepted"
        return CheckView("credentials", False, message), [], [f"credentials: {message}"]
    if len(inner) > MAX_INNER_CREDENTIALS:
        message = f"more than {MAX_INNER_CREDENTIALS} credentials inside; not checked"
        return CheckView("credentials", False, message), [], [f"credentials: {message}"]
    failed, answers, errors = [], [], []
    for n, item in enumerate(inner, start=1):
        answer = _answer(session, item, depth=depth + 1, now=now)
        answers.append(answer)
        if not answer.verification.verified:
            name = item.get("name") if isinstance(item, dict) else None
            failed.append(f"#{n} {name or ''}: {answer.verification.summary}".strip())
            errors.append(_inner_failure(item, n, answer.verification))
    if failed:
        check = CheckView("credentials", False, "inner credentials that do not verify: " + "; ".join(failed))
        return check, answers, errors
    return CheckView("credentials", True, f"all {len(inner)} credentials inside verify"), answers, []


def _verify_now(session: SessionLike, data: str | bytes | dict[str, Any], *, keys: KeyEpoch, now: datetime,
                depth: int) -> Answer:
    """Run the full verifier, noting every list the status check reads and when the validity check would flip."""
    seen: dict[uuid.UUID, ListState | None] = {}
    result = run_verifier(data, document_loader=document_loader(),
                          resolver=resolver(session, trust.trusted_documents(session)),
                          status_checker=status_check.checker(session, seen=seen), now=now,
                          recognise=trust.recogniser(session), on_record=registry.on_record(session))
    checks = [CheckView(c.name, c.ok, c.message) for c in result.checks]
    readable = not any(c.name == "format" and c.ok is False for c in checks)
    verified = result.verified
    until = validity_turn(result.credential, now, DEFAULT_CLOCK_SKEW)
    inner = _inner_credentials(result.credential)
    errors = list(result.errors)
    if inner is not None and not verified:
        checks.append(CheckView("credentials", None, "not checked: the outer credential does not verify"))
    elif inner is not None:
        check, answers, inner_errors = _verify_inner(session, inner, depth=depth, now=now)
        checks.append(check)
        errors += inner_errors
        verified = verified and bool(check.ok)
        for answer in answers:
            for public_id, state in answer.lists:
                if seen.setdefault(public_id, state) != state:
                    until = now  # a list changed while we read it: this answer serves this request only
            if answer.until is not None:
                until = answer.until if until is None else min(until, answer.until)
    document = result.credential  # read here, never kept: the answer holds only what pages show of it
    verification = Verification(verified=verified, readable=readable, checks=checks,
                                warnings=list(result.warnings), errors=errors,
                                name=display_field(document, "name"), credential_id=display_field(document, "id"),
                                valid_from=display_field(document, "validFrom"),
                                valid_until=display_field(document, "validUntil"), issuer_name=result.issuer_name)
    return Answer(verification, keys, tuple(seen.items()), until, now)


def _answer(session: SessionLike, data: str | bytes | dict[str, Any], *, depth: int,
            now: datetime | None = None) -> Answer:
    cache = _answers()
    key = ("input", digest(data))
    now = now or datetime.now(UTC)
    cached = cache.get(key)
    with reading(session) as connection:
        keys, lists = _current_state(connection, cached)
    if cached is not None and cached.holds(keys, lists, now):
        return cached
    answer = _verify_now(session, data, keys=keys, now=now, depth=depth)
    _keep(key, answer)
    return answer


def answer(session: SessionLike, data: str | bytes | dict[str, Any], *, now: datetime | None = None) -> Answer:
    """``verify_any``'s answer with what it rests on, for a caller that keeps the response
    (``issuer.platform.replay``)."""
    return _answer(session, data, depth=0, now=now)


def verify_any(session: SessionLike, data: str | bytes | dict[str, Any], *,
               now: datetime | None = None) -> Verification:
    """Run the full verifier on any credential (cached, see above: one query when the answer is reused).

    ``now``: the instant to verify at (default: the clock); a cached answer is reused only before its next validity
    date, so an answer for one instant never stands for another past that date. Never raises."""
    return answer(session, data, now=now).verification


def verify_stored(session: SessionLike, credential: Credential) -> Verification:
    return verify_any(session, credential.document)


def read_document(data: str | bytes | dict[str, Any]) -> dict[str, Any] | None:
    """The credential in a verifier's input, read again in this request (answers never keep it); None if unreadable.

    For a caller that needs more of a verified credential than its answer holds (``Verification``'s fields).
    """
    return read_credential(data)


@dataclass(frozen=True)
class IssuedRecord:
    """What the verification page shows of a credential issued here besides the verification, read with it."""

    id: uuid.UUID
    public: bool
    revoked_at: datetime | None
    suspended_at: datetime | None
    therapist_name: str
    level_id: int | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    #: The reasons the issuer chose to publish (never the private ones).
    revocation_public_reason: str | None = None
    suspension_public_reason: str | None = None


@dataclass(frozen=True)
class IssuedVerification:
    record: IssuedRecord
    answer: Answer

    @property
    def verification(self) -> Verification:
        return self.answer.verification

    @property
    def token(self) -> str:
        """The state token of the public verification page: the answer's (verdict, key epoch incl. the trust
        list, list states, validity turn) and the record's. The page's ETag, and what a replay is checked by."""
        return _token(self.answer.token, self.record)

    def unchanged(self, connection: Connection) -> bool:
        """Whether ``verify_issued`` would give this very answer and record again, by one query on ``connection``:
        the state it rests on reads the same, so its ``token`` (the page's ETag) would be the same.
        ``issuer.platform.replay`` checks a kept page with this."""
        state = _issued_state(connection, self.record.id)
        return state is not None and state[0] == self.record and self.answer.holds(*state[1:], datetime.now(UTC))


def _issued_state(
    connection: Connection, credential_id: uuid.UUID
) -> tuple[IssuedRecord, KeyEpoch, dict[uuid.UUID, ListState]] | None:
    """A credential's record, the key epoch and its status lists' state, in one query; None if there is no such
    credential."""
    rows = connection.execute(_ISSUED_STATE, {"credential_id": credential_id}).all()
    if not rows:
        return None
    first = rows[0]
    record = IssuedRecord(id=credential_id, public=first.public, revoked_at=first.revoked_at,
                          suspended_at=first.suspended_at, therapist_name=first.therapist_name,
                          level_id=first.level_id, issued_at=first.issued_at, valid_until=first.valid_until,
                          revocation_public_reason=first.revocation_public_reason,
                          suspension_public_reason=first.suspension_public_reason)
    return (record, *_read_state(rows))


def verify_issued(session: SessionLike, credential_id: uuid.UUID, *,
                  now: datetime | None = None) -> IssuedVerification | None:
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
    now = now or datetime.now(UTC)
    cache = _answers()
    cached = cache.get(("issued", credential_id))
    if cached is None or not cached.holds(keys, lists, now):
        document = session.scalar(select(Credential.document).filter_by(id=credential_id))
        if document is None:  # gone since the state was read (credentials are never deleted): as if never there
            return None
        cached = _verify_now(session, document, keys=keys, now=now, depth=0)
        _keep(("issued", credential_id), cached)
    return IssuedVerification(record=record, answer=cached)

