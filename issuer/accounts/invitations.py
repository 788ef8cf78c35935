"""Invitations: an administrator names a person, their e-mail and role; the person chooses their own password.

The invitation is e-mailed as a single-use link that expires (``ISSUER_INVITATION_TTL_HOURS``). Accepting it makes
the account: one conditional UPDATE claims the invitation (still open, not expired), so of two tabs submitting at
once exactly one opens the account and the other is told the link was used. An administrator may send a new link
(the old one stops working) or withdraw the invitation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from issuer.accounts import directory, link_tokens
from issuer.errors import Conflict, IssuerError, NotFound
from issuer.issuance import notices
from issuer.models import Invitation, Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike


class LinkGone(IssuerError):
    """A link that was ours but can no longer be used: used, expired or withdrawn (410)."""

    status_code = 410
    code = "link_gone"


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    link: str  # the only copy of the token outside the e-mail; never stored


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["ISSUER_INVITATION_TTL_HOURS"]))


def link_for(token: str) -> str:
    return f"{current_app.config['ISSUER_BASE_URL']}/invitations/{token}"


def state(invitation: Invitation, now: dt.datetime | None = None) -> str:
    """pending, accepted, revoked or expired."""
    now = now or utcnow()
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


def invite(session: SessionLike, *, email: str, name: str, role: Role | str, actor: User) -> Sent:
    """Invite a person; the e-mail goes once ``session`` commits. Flushes only.

    :raise InvalidInput: a bad e-mail, name or role.
    :raise Conflict: an account, or an open invitation, for that e-mail exists already.
    """
    email = directory.normalise_email(email)
    name = directory.check_name(name)
    role = directory.check_role(role)
    if session.scalars(select(User.id).filter_by(email=email)).first() is not None:
        raise Conflict(f"an account for {email} already exists")
    now = utcnow()
    for other in session.scalars(select(Invitation).filter_by(email=email)).all():
        if state(other, now) == "pending":
            raise Conflict(f"{email} already has an invitation waiting; send it again from the list instead")
    token, token_hash = link_tokens.new_token()
    invitation = Invitation(email=email, name=name, role=role, token_hash=token_hash, created_at=now, sent_at=now,
                            expires_at=now + ttl(), created_by_id=actor.id)
    session.add(invitation)
    session.flush()
    audit.record(session, "account.invited", actor=actor, subject_type="invitation", subject_id=invitation.id,
                 email=email, name=name, role=role.value)
    return _send(session, invitation, token, actor)


def _send(session: SessionLike, invitation: Invitation, token: str, actor: User) -> Sent:
    link = link_for(token)
    message = notices.invitation_message(email=invitation.email, name=invitation.name, role=invitation.role.value,
                                         link=link, expires_at=invitation.expires_at, invited_by=actor.name)
    notices.notify_account_link(session, message, about=f"invitation {invitation.id}")
    return Sent(invitation=invitation, link=link)


def _open(session: SessionLike, invitation_id: int) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def resend(session: SessionLike, invitation_id: int, *, actor: User) -> Sent:
    """A new link with a new expiry (the old link stops working); for a pending or expired invitation. Flushes only.

    :raise Conflict: the invitation was accepted or withdrawn.
    """
    invitation = _open(session, invitation_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(f"The invitation for {invitation.email} was {state(invitation)}: there is nothing to resend.")
    if session.scalars(select(User.id).filter_by(email=invitation.email)).first() is not None:
        raise Conflict(f"an account for {invitation.email} exists already")
    token, token_hash = link_tokens.new_token()
    now = utcnow()
    if not link_tokens.claim(session, invitation, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                             token_hash=token_hash, sent_at=now, expires_at=now + ttl()):
        raise Conflict(f"The invitation for {invitation.email} was accepted or withdrawn meanwhile.")
    audit.record(session, "account.invitation_resent", actor=actor, subject_type="invitation",
                 subject_id=invitation.id, email=invitation.email)
    return _send(session, invitation, token, actor)


def revoke(session: SessionLike, invitation_id: int, *, actor: User) -> Invitation:
    """Withdraw an invitation: its link stops working. Flushes only.

    :raise Conflict: it was accepted (the account exists: deactivate it instead) or withdrawn already.
    """
    invitation = _open(session, invitation_id)
    if not link_tokens.claim(session, invitation, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                             revoked_at=utcnow()):
        raise Conflict(f"The invitation for {invitation.email} was {state(invitation)} already.")
    audit.record(session, "account.invitation_revoked", actor=actor, subject_type="invitation",
                 subject_id=invitation.id, email=invitation.email)
    return invitation


def find(session: SessionLike, token: str) -> Invitation:
    """The open invitation this link's token names.

    :raise NotFound: no invitation has this token (never was, or a newer link replaced it).
    :raise LinkGone: it was used, withdrawn or has expired.
    """
    invitation = link_tokens.find_row(session, Invitation, token)
    if invitation is None:
        raise NotFound("This invitation link is not known. Check that you copied the whole link from the e-mail, "
                       "or ask the administrator for a new invitation.")
    _require_open(invitation, utcnow())
    return invitation


def _require_open(invitation: Invitation, now: dt.datetime) -> None:
    current = state(invitation, now)
    if current == "accepted":
        raise LinkGone("This invitation was used already: its account exists. Sign in, or use "
                       "\u201cForgot password?\u201d on the sign-in page.")
    if current == "revoked":
        raise LinkGone("This invitation was withdrawn. Ask the administrator if you still need an account.")
    if current == "expired":
        raise LinkGone("This invitation link has expired. Ask the administrator to send you a new one.")


def accept(session: SessionLike, token: str, *, password: str) -> User:
    """Open the account: the invitation is claimed once, the user made with this password. Flushes only.

    :raise NotFound, LinkGone: as :func:`find` (also when another request claimed it a moment before).
    :raise InvalidInput: the password is too short (the invitation stays open).
    :raise Conflict: an account with that e-mail was made meanwhile by other means.
    """
    invitation = find(session, token)
    directory.check_password(password)  # before claiming: a short password leaves the link usable
    now = utcnow()
    if not link_tokens.claim(session, invitation, Invitation.token_hash == invitation.token_hash,
                             Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                             Invitation.expires_at > now, accepted_at=now):
        # a concurrent request used it (or the administrator withdrew it) a moment ago
        _require_open(invitation, now)
        raise LinkGone("This invitation link was replaced by a newer one. Use the latest e-mail.")
    try:
        user = directory.create_user(session, email=invitation.email, name=invitation.name, role=invitation.role,
                                     password=password, actor=None)
    except Conflict:
        raise Conflict(f"An account for {invitation.email} exists already. Sign in, or use "
                       "\u201cForgot password?\u201d on the sign-in page.") from None
    invitation.user_id = user.id
    audit.record(session, "account.invitation_accepted", actor=user, subject_type="invitation",
                 subject_id=invitation.id, email=invitation.email)
    session.flush()
    return user


def listing(session: SessionLike) -> list[Invitation]:
    """Invitations not yet accepted (pending, expired, withdrawn), newest first."""
    return list(session.scalars(select(Invitation).where(Invitation.accepted_at.is_(None))
                                .order_by(Invitation.created_at.desc(), Invitation.id.desc())).all())
