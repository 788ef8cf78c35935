"""Holder-bound deliveries of an award to wallets (OpenID4VCI), and their status.

A wallet that proved it holds a key receives a NEW credential: the award's document with its own id
(``urn:uuid:``), ``credentialSubject.id`` set to the holder's DID, its own status-list entries (revocation, and
suspension kept in the database like every credential here) and its own Data Integrity proof. The delivery is
recorded (``WalletDelivery``), so that this service's verifier accepts it (``issuer.verification.registry``).

The award's status rules its deliveries: revoking, suspending or reinstating the award does the same to each of
them, in the same transaction (``follow_award``, called by ``issuer.issuance.revocation.change`` with the award's
row locked). A delivery can also be revoked on its own (a lost phone): ``revoke``. Everything flushes only.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select

from issuer.credentials import schema
from issuer.credentials.digest import document_digest
from issuer.errors import Conflict, InvalidInput
from issuer.issuance import signing
from issuer.learning.record_book import signable_text
from issuer.models import Credential, User, WalletDelivery, utcnow
from issuer.models.oauth import OAuthToken
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.status_lists import lists as status_lists

MAX_REASON_LENGTH = 2000


class NotDeliverable(Exception):
    """The award cannot be delivered now (revoked, suspended, superseded): the message says why."""


def bound_document(award_document: dict[str, Any], *, delivery_id: uuid.UUID, holder_did: str,
                   status: dict[str, Any]) -> dict[str, Any]:
    """The award's credential, unsigned, with a new id, the holder as subject id and its own status entry."""
    document = copy.deepcopy(award_document)
    document.pop("proof", None)
    document["id"] = f"urn:uuid:{delivery_id}"
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise TypeError("the award's credential has no credentialSubject object")
    subject.pop("id", None)
    document["credentialSubject"] = {"id": holder_did, **subject}
    document["credentialStatus"] = status
    return document


def deliver(session: SessionLike, award: Credential, *, holder_did: str, configuration_id: str,
            token: OAuthToken | None, now: dt.datetime) -> WalletDelivery:
    """Sign and record a holder-bound copy of ``award`` for ``holder_did``. Flushes only.

    The award's row is locked first, so a concurrent revocation either sees this delivery (and revokes it too)
    or runs before it (and this refuses).

    :raise NotDeliverable: the award is revoked, suspended or superseded.
    """
    from issuer.issuance import revocation  # revocation calls back into this module

    award = revocation.lock(session, award)
    if award.revoked_at is not None:
        raise NotDeliverable("this credential has been revoked")
    if award.superseded_at is not None:
        raise NotDeliverable("this credential was replaced by a newer copy; collect that one")
    if award.suspended_at is not None:
        raise NotDeliverable("this credential is suspended")
    delivery_id = uuid.uuid4()
    entries = status_lists.allocate(session, credential_id=delivery_id, now=now)
    unsigned = bound_document(json.loads(award.document), delivery_id=delivery_id, holder_did=holder_did,
                              status=next(e for e in entries if e["statusPurpose"] == "revocation"))
    signed, kid = signing.sign_document(session, unsigned, now=now)
    problems = schema.validate(signed, "achievementcredential")
    if problems:
        raise signing.SigningFailed("the credential does not match the 1EdTech schema: " + "; ".join(problems))
    delivery = WalletDelivery(
        id=delivery_id, credential_id=award.id, holder_did=holder_did, configuration_id=configuration_id,
        document=signing.serialize(signed), digest=document_digest(signed), key_id=kid,
        token_id=token.id if token is not None else None, issued_at=now,
    )
    session.add(delivery)
    audit.record(session, "credential.delivered", actor=None, subject_type="credential", subject_id=award.id,
                 delivery=str(delivery_id), holder=holder_did[:200], configuration=configuration_id)
    session.flush()
    return delivery


def _locked(session: SessionLike, award: Credential) -> list[WalletDelivery]:
    return list(session.scalars(
        select(WalletDelivery).where(WalletDelivery.credential_id == award.id).order_by(WalletDelivery.issued_at)
        .with_for_update().execution_options(populate_existing=True)))


def follow_award(session: SessionLike, award: Credential, *, action: str, reason: str, actor: User | None,
                 now: dt.datetime) -> int:
    """Apply the award's new status (``revoke``, ``suspend``, ``unsuspend``) to every delivery of it; returns
    how many changed. The caller holds the award's row lock and audits the award's change. Flushes only."""
    changed = 0
    for delivery in _locked(session, award):
        if delivery.revoked_at is not None:
            continue  # revoked for good, alone or before
        if action == "revoke":
            status_lists.set_bit(session, credential_id=delivery.id, purpose="revocation", value=True, now=now)
            if delivery.suspended_at is not None:
                status_lists.set_bit(session, credential_id=delivery.id, purpose="suspension", value=False, now=now)
                delivery.suspended_at = None
            delivery.revoked_at, delivery.revocation_reason = now, reason
        elif action == "suspend" and delivery.suspended_at is None:
            status_lists.set_bit(session, credential_id=delivery.id, purpose="suspension", value=True, now=now)
            delivery.suspended_at = now
        elif action == "unsuspend" and delivery.suspended_at is not None:
            status_lists.set_bit(session, credential_id=delivery.id, purpose="suspension", value=False, now=now)
            delivery.suspended_at = None
        else:
            continue
        delivery.status_changed_by_id = actor.id if actor else None
        changed += 1
    session.flush()
    return changed


def revoke(session: SessionLike, delivery: WalletDelivery, *, reason: str, actor: User | None) -> WalletDelivery:
    """Revoke one delivery alone (the award and its other deliveries stay as they are). Audited. Flushes only.

    :raise InvalidInput: no reason, or a reason too long. :raise Conflict: already revoked.
    """
    reason = signable_text(reason, "the reason")
    if not reason:
        raise InvalidInput("give a reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    session.flush()
    delivery = session.scalars(select(WalletDelivery).where(WalletDelivery.id == delivery.id).with_for_update()
                               .execution_options(populate_existing=True)).one()
    if delivery.revoked_at is not None:
        raise Conflict("this wallet copy is revoked already; revocation is permanent")
    now = utcnow()
    status_lists.set_bit(session, credential_id=delivery.id, purpose="revocation", value=True, now=now)
    if delivery.suspended_at is not None:
        status_lists.set_bit(session, credential_id=delivery.id, purpose="suspension", value=False, now=now)
        delivery.suspended_at = None
    delivery.revoked_at, delivery.revocation_reason = now, reason
    delivery.status_changed_by_id = actor.id if actor else None
    audit.record(session, "credential.delivery_revoked", actor=actor, subject_type="credential",
                 subject_id=delivery.credential_id, delivery=str(delivery.id), reason=reason)
    session.flush()
    return delivery


def of_award(session: SessionLike, award: Credential) -> list[WalletDelivery]:
    """The deliveries of ``award``, oldest first."""
    return list(session.scalars(select(WalletDelivery).where(WalletDelivery.credential_id == award.id)
                                .order_by(WalletDelivery.issued_at, WalletDelivery.id)))
