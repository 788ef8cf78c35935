"""Revoking (permanent) and suspending (reversible) credentials, with reasons, audited.

Each change locks the credential's row before checking the transition (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the writing transaction already holds the database's write lock), so of concurrent changes one wins and the
others see its result (409). Each change writes exactly one audit event. Revoked and suspended never hold together:
revoking a suspended credential clears its suspension, and its suspension bit, in the same transaction.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from issuer.accounts import assignments
from issuer.errors import Conflict, InvalidInput
from issuer.issuance import deliveries
from issuer.learning.record_book import signable_text
from issuer.models import Credential, Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.status_lists import lists as status_lists

ACTIONS = ("revoke", "suspend", "unsuspend")
MAX_REASON_LENGTH = 2000
#: A public reason is a short line on a public page.
MAX_PUBLIC_REASON_LENGTH = 300


def may_change_status(session: SessionLike, user: User, credential: Credential) -> bool:
    """The issuing supervisor (while still assigned) or an administrator."""
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    return (user.role is Role.SUPERVISOR and credential.issued_by_id == user.id
            and assignments.is_assigned(session, supervisor=user, therapist=credential.therapist))


def change(
    session: SessionLike, credential: Credential, *, action: str, reason: str, actor: User | None,
    public_reason: str | None = None,
) -> Credential:
    """Apply ``action`` with ``reason``; flips the status-list bit and re-signs the list. Flushes only.

    ``reason`` stays private (the audit log, the people who manage the credential); ``public_reason``, when the
    issuer gives one, is shown on the public pages next to the date. Lifting a suspension clears both.
    """
    reason = signable_text(reason, "the reason")  # stripped; a control character refused with a message
    public_reason = signable_text(public_reason or "", "the public reason") or None
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; use revoke, suspend or unsuspend")
    if not reason:
        raise InvalidInput("give a reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    if public_reason is not None and action == "unsuspend":
        raise InvalidInput("lifting a suspension takes no public reason")
    if public_reason is not None and len(public_reason) > MAX_PUBLIC_REASON_LENGTH:
        raise InvalidInput(f"the public reason is longer than {MAX_PUBLIC_REASON_LENGTH} characters")
    credential = lock(session, credential)
    if credential.revoked_at is not None:
        raise Conflict("this credential is revoked; revocation is permanent")
    now = utcnow()
    details: dict[str, object] = {}
    if action == "revoke":
        status_lists.set_bit(session, credential_id=credential.id, purpose="revocation", value=True, now=now)
        credential.revoked_at, credential.revocation_reason = now, reason
        credential.revocation_public_reason = public_reason
        if credential.suspended_at is not None:  # revoked and suspended never hold together
            status_lists.set_bit(session, credential_id=credential.id, purpose="suspension", value=False, now=now)
            credential.suspended_at, credential.suspension_reason = None, None
            credential.suspension_public_reason = None
            details["suspension_cleared"] = True
    elif action == "suspend":
        if credential.suspended_at is not None:
            raise Conflict("this credential is already suspended")
        status_lists.set_bit(session, credential_id=credential.id, purpose="suspension", value=True, now=now)
        credential.suspended_at, credential.suspension_reason = now, reason
        credential.suspension_public_reason = public_reason
    else:
        if credential.suspended_at is None:
            raise Conflict("this credential is not suspended")
        status_lists.set_bit(session, credential_id=credential.id, purpose="suspension", value=False, now=now)
        credential.suspended_at, credential.suspension_reason = None, None
        credential.suspension_public_reason = None
    credential.status_changed_by_id = actor.id if actor else None
    # Every wallet delivery of this award follows it, under the same row lock and in the same transaction.
    followed = deliveries.follow_award(session, credential, action=action, reason=reason, actor=actor, now=now)
    details.update({"deliveries": followed} if followed else {})
    audit.record(session, {"revoke": "credential.revoked", "suspend": "credential.suspended",
                           "unsuspend": "credential.unsuspended"}[action],
                 actor=actor, subject_type="credential", subject_id=credential.id, reason=reason,
                 **({"public_reason": public_reason} if public_reason else {}), **details)
    session.flush()
    return credential


def lock(session: SessionLike, credential: Credential) -> Credential:
    """Lock ``credential``'s row for this transaction and read its status afresh (another transaction may have
    changed it since it was loaded). Pending changes are flushed first, so they are kept."""
    session.flush()
    return session.scalars(select(Credential).where(Credential.id == credential.id).with_for_update(of=Credential)
                           .execution_options(populate_existing=True)).one()


def get(session: SessionLike, credential_id: str) -> Credential:
    from issuer.errors import NotFound

    try:
        key = uuid.UUID(credential_id)
    except ValueError:
        raise NotFound(f"no credential {credential_id!r}") from None
    credential = session.get(Credential, key)
    if credential is None:
        raise NotFound(f"no credential {credential_id!r}")
    return credential
