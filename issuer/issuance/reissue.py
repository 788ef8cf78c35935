"""After a key compromise: revoke the key, list what it signed, and issue new copies signed by the current keys.

``revoke_key`` withdraws the key (``issuer.identity.keystore.revoke``: out of the DID document and the JWKS, a new
current key when it was current) and at once re-signs the status lists it signed, so the status of every other
credential keeps verifying. It answers with every credential the key signed: the Ed25519 key of a credential's Data
Integrity proof is ``Credential.key_id``; the RSA key of its VC-JWT is the ``kid`` in the token's header.

``reissue`` signs each of those credentials again as a new credential (a new id and its own status-list entries;
the same subject, achievement, evidence, ``validFrom`` and ``awardedDate``; a subject issued without an ``id``
gets the therapist's stable ``urn:uuid:``), linked to the old one by
``replaces_id``, revokes the old one and marks it superseded, and tells the therapist. A credential already
superseded is not signed twice, so running it again does nothing; the exception is one superseded by its renewal
for the next cycle and still valid (``issuer.recertification.renewal``): it is re-signed too, its copy superseded
as it was, and a renewal re-signed in the same run names that copy in its ``relatedResource``. Both flush only:
the caller commits once.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from issuer.credentials import vc_jwt
from issuer.errors import InvalidInput
from issuer.identity import keystore
from issuer.issuance import completion, notices, revocation
from issuer.models import Credential, IssuedDocument, IssuerKey, StatusList, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.status_lists import lists as status_lists


def reissue_reason(kid: str) -> str:
    return f"Re-issued after key {kid} was revoked"


def _fragment(value: Any) -> str | None:
    return value.rsplit("#", 1)[-1] if isinstance(value, str) and value else None


def jwt_kid(token: str) -> str | None:
    """The key id (the DID URL fragment) in a VC-JWT's header, unchecked: the token is our own, as stored."""
    header = vc_jwt.read_header_unchecked(token)
    return _fragment(header.get("kid")) if header is not None else None


def list_kid(status_list: StatusList) -> str | None:
    """The key id of the proof on a signed status list (None: not signed yet)."""
    if not status_list.signed_document:
        return None
    proofs = json.loads(status_list.signed_document).get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, dict):
            return _fragment(proof.get("verificationMethod"))
    return None


def signed_by(session: SessionLike, key: IssuerKey) -> list[Credential]:
    """Every credential ``key`` signed (superseded and revoked ones too), oldest first."""
    order = (Credential.issued_at, Credential.id)
    if key.algorithm == keystore.ED25519:
        return list(session.scalars(select(Credential).where(Credential.key_id == key.kid).order_by(*order)))
    # RSA signs the VC-JWTs: the key is named in each token's header (read without loading whole rows).
    ids = [row.id for row in session.execute(select(Credential.id, Credential.jwt)) if jwt_kid(row.jwt) == key.kid]
    if not ids:
        return []
    return list(session.scalars(select(Credential).where(Credential.id.in_(ids)).order_by(*order)))


def documents_signed_by(session: SessionLike, key: IssuerKey) -> list[IssuedDocument]:
    """The other documents on record that ``key`` signed (CLRs, VC-API issuances). They are not kept, so they
    cannot be signed again here: their holders ask for new ones. An Ed25519 key is recorded with each; an RSA key
    signed the VC-JWTs issued while it was current."""
    query = select(IssuedDocument).order_by(IssuedDocument.issued_at)
    if key.algorithm == keystore.ED25519:
        return list(session.scalars(query.where(IssuedDocument.key_id == key.kid)))
    until = key.retired_at or key.revoked_at or utcnow()
    return list(session.scalars(query.where(IssuedDocument.jwt_digest.is_not(None),
                                            IssuedDocument.issued_at >= key.created_at,
                                            IssuedDocument.issued_at <= until)))


def lists_signed_by(session: SessionLike, kid: str) -> list[StatusList]:
    return [s for s in session.scalars(select(StatusList).order_by(StatusList.id)) if list_kid(s) == kid]


def _resign_lists(session: SessionLike, kid: str) -> list[StatusList]:
    now = utcnow()
    lists = lists_signed_by(session, kid)
    for status_list in lists:
        # lock the row (PostgreSQL) as set_bit does, so a concurrent bit change is never lost
        session.scalars(select(StatusList).filter_by(id=status_list.id).with_for_update()).one()
        status_lists.resign(session, status_list, now=now)
    return lists


@dataclass(frozen=True)
class RevokedKey:
    key: IssuerKey
    replacement: IssuerKey | None
    credentials: list[Credential]
    #: CLRs and VC-API issuances it signed (``documents_signed_by``).
    documents: list[IssuedDocument]
    #: Status lists the key had signed, signed again with the current key.
    lists: list[StatusList]


def revoke_key(session: SessionLike, kid: str, *, reason: str, actor: User | None = None) -> RevokedKey:
    """Revoke ``kid`` after a compromise and list what it signed. Audited (``keys.revoked``). Flushes only.

    :raise NotFound: no such key. :raise InvalidInput: no reason. :raise Conflict: already revoked.
    """
    revoked = keystore.revoke(session, kid, reason=reason, actor=actor)
    lists = _resign_lists(session, revoked.key.kid)
    return RevokedKey(key=revoked.key, replacement=revoked.replacement, credentials=signed_by(session, revoked.key),
                      documents=documents_signed_by(session, revoked.key), lists=lists)


@dataclass(frozen=True)
class Reissued:
    key: IssuerKey
    #: (old credential, its new copy)
    reissued: list[tuple[Credential, Credential]]
    #: Credentials the key signed that were revoked for another reason before: they stay revoked, with no copy.
    skipped: list[Credential]
    lists: list[StatusList]


def reissue(session: SessionLike, kid: str, *, actor: User | None = None) -> Reissued:
    """Sign every current credential the revoked key ``kid`` signed again with the current keys. Flushes only.

    :raise NotFound: no such key. :raise InvalidInput: the key is not revoked.
    """
    key = keystore.get_key(session, kid)
    if key.revoked_at is None:
        raise InvalidInput(f"key {key.kid} is not revoked; credentials are re-issued only after their key is "
                           f"revoked (`issuer keys revoke {key.kid} --reason …`)")
    lists = _resign_lists(session, key.kid)  # normally done by the revocation already
    reason = reissue_reason(key.kid)
    done: list[tuple[Credential, Credential]] = []
    skipped: list[Credential] = []
    copies: dict[uuid.UUID, Credential] = {}  # old id -> its copy, for renewals that name a credential re-signed here
    now = utcnow()
    # By validFrom: along a chain of renewals validFrom only grows, so a credential is re-signed before its renewal,
    # which then names the copy.
    for candidate in sorted(signed_by(session, key), key=lambda c: (c.valid_from, c.issued_at, str(c.id))):
        renewed = candidate.superseded_at is not None and _renewed_and_valid(session, candidate, now)
        if candidate.superseded_at is not None and not renewed:
            continue  # re-issued before
        # Lock and read again: a concurrent run that got here first has superseded it (or, for a credential
        # superseded by its renewal, revoked it) meanwhile.
        query = select(Credential).where(Credential.id == candidate.id)
        query = query.where(Credential.revoked_at.is_(None) if renewed else Credential.superseded_at.is_(None))
        old = session.scalars(query.with_for_update()).one_or_none()
        if old is None:
            continue
        if old.revoked_at is not None:
            skipped.append(old)
            continue
        copies[old.id] = _reissue_one(session, old, key=key, reason=reason, actor=actor, copies=copies)
        done.append((old, copies[old.id]))
    audit.record(session, "keys.reissued", actor=actor, subject_type="key", subject_id=key.kid,
                 reissued=len(done), skipped=len(skipped), lists=len(lists))
    session.flush()
    return Reissued(key=key, reissued=done, skipped=skipped, lists=lists)


def _renewed_and_valid(session: SessionLike, credential: Credential, now: Any) -> bool:
    """Superseded by its renewal for the next cycle, not revoked, and still within its own validity: it still
    counts, so a copy is due (``issuer.recertification.renewal``)."""
    if credential.revoked_at is not None or credential.valid_until is None or credential.valid_until <= now:
        return False
    return session.scalar(select(Credential.id).where(Credential.renews_id == credential.id).limit(1)) is not None


def _relink(document: dict[str, Any], previous: Credential) -> None:
    """Point a renewal's links (``relatedResource`` and the Evidence naming the previous credential) at
    ``previous``, the copy of the credential it renews."""
    from issuer.recertification.renewal import related_resource  # here: recertification builds on issuance

    document["relatedResource"] = [related_resource(previous)]
    for item in document.get("evidence") or []:
        if isinstance(item, dict) and item.get("genre") == "Previous credential":
            item["id"] = completion.credential_url(previous.id)


def _reissue_one(session: SessionLike, old: Credential, *, key: IssuerKey, reason: str, actor: User | None,
                 copies: dict[uuid.UUID, Credential] | None = None) -> Credential:
    now = utcnow()
    original: dict[str, Any] = json.loads(old.document)
    original.pop("proof", None)
    new_id = uuid.uuid4()
    # a renewal whose previous credential was re-signed in this run names that copy
    previous_copy = (copies or {}).get(old.renews_id) if old.renews_id is not None else None
    if previous_copy is not None:
        _relink(original, previous_copy)

    def build(status: list[dict[str, Any]]) -> dict[str, Any]:
        # the same keys in the same order: only the id and the status change
        document: dict[str, Any] = copy.deepcopy(original)
        document["id"] = completion.credential_url(new_id)
        document["credentialStatus"] = status[0]
        subject = document.get("credentialSubject")
        if isinstance(subject, dict) and "id" not in subject:
            # issued before subjects had ids: the copy names the therapist's stable id (the VC-JWT's sub)
            document["credentialSubject"] = {"id": old.therapist.subject_urn, **subject}
        return document

    # The old one stops being current first: one current credential per (therapist, level) is a unique index. One
    # superseded by its renewal already is not current, and neither is its copy.
    superseded_before = old.superseded_at
    old.superseded_at = superseded_before or now
    suspension = old.suspension_reason if old.suspended_at is not None else None
    revocation.change(session, old, action="revoke", reason=reason, actor=actor)
    new = completion.sign_and_record(
        session, credential_id=new_id, build=build, therapist=old.therapist, level=old.level,
        completion_id=old.completion_id, issued_by=old.issued_by, valid_from=old.valid_from,
        valid_until=old.valid_until, now=now, recipient_name=old.recipient_name, public=old.public, replaces=old,
    )
    new.superseded_at = superseded_before
    # a copy of a renewal renews the same credential (or that credential's copy, re-signed in the same run)
    new.renews_id = previous_copy.id if previous_copy is not None else old.renews_id
    audit.record(session, "credential.reissued", actor=actor, subject_type="credential", subject_id=new_id,
                 replaces=str(old.id), revoked_key=key.kid)
    session.flush()
    if suspension is not None:  # a suspended credential stays suspended in its new copy
        revocation.change(session, new, action="suspend", reason=suspension, actor=actor)
    notices.notify_reissued(session, new, old)
    return new
