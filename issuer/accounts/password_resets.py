"""“Forgot password?”: a single-use, expiring link e-mailed to the account's address.

Asking always gets the same answer, whether or not the address has an account (no enumeration); the view limits
asks per client address. An account gets at most ``MAX_LINKS_PER_HOUR`` links an hour (further asks send nothing,
and say nothing different). Using a link sets the new password and ends every session of the account (the
session epoch moves on); one conditional UPDATE claims the link, so of two concurrent uses exactly one changes
the password and the other is told the link was used. A used link also closes the account's other open links.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select, update

from issuer.accounts import directory, link_tokens
from issuer.accounts.invitations import LinkGone
from issuer.errors import InvalidInput, NotFound
from issuer.issuance import notices
from issuer.models import PasswordReset, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

#: Links one account may be sent per hour, however often the form is submitted for it.
MAX_LINKS_PER_HOUR = 3


def ttl() -> dt.timedelta:
    return dt.timedelta(minutes=float(current_app.config["ISSUER_PASSWORD_RESET_TTL_MINUTES"]))


def link_for(token: str) -> str:
    return f"{current_app.config['ISSUER_BASE_URL']}/reset-password/{token}"


def request_reset(session: SessionLike, email: str) -> bool:
    """E-mail a reset link to ``email`` if it names an active account (once ``session`` commits). Flushes only.

    Returns whether a link was made, for tests and the audit log only: the caller answers the same either way.
    """
    try:
        email = directory.normalise_email(email)
    except InvalidInput:  # not an address: nobody to write to, and the same answer
        return False
    user = session.scalars(select(User).filter_by(email=email)).one_or_none()
    if user is None or not user.active:
        return False
    now = utcnow()
    recent = session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.created_at > now - dt.timedelta(hours=1))) or 0
    if recent >= MAX_LINKS_PER_HOUR:
        return False
    token, token_hash = link_tokens.new_token()
    reset = PasswordReset(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl())
    session.add(reset)
    session.flush()
    audit.record(session, "account.password_reset_requested", actor=None, subject_type="user", subject_id=user.id)
    message = notices.password_reset_message(email=user.email, name=user.name, link=link_for(token),
                                             expires_at=reset.expires_at)
    notices.notify_account_link(session, message, about=f"password reset {reset.id}")
    return True


def find(session: SessionLike, token: str) -> PasswordReset:
    """The open reset link ``token`` names.

    :raise NotFound: no link has this token.
    :raise LinkGone: it was used, or has expired, or its account was deactivated.
    """
    reset = link_tokens.find_row(session, PasswordReset, token)
    if reset is None:
        raise NotFound("This password reset link is not known. Check that you copied the whole link from the "
                       "e-mail, or ask for a new one.")
    _require_open(reset, utcnow())
    return reset


def _require_open(reset: PasswordReset, now: dt.datetime) -> None:
    if reset.used_at is not None:
        raise LinkGone("This password reset link was used already. If you did not use it, ask for a new one "
                       "and choose another password.")
    if reset.expires_at <= now:
        raise LinkGone("This password reset link has expired. Ask for a new one.")
    if not reset.user.active:
        raise LinkGone("This account is deactivated: its password cannot be reset. Ask the administrator.")


def reset_password(session: SessionLike, token: str, *, password: str) -> User:
    """Set the new password and end every session of the account; the link is used up. Flushes only.

    :raise NotFound, LinkGone: as :func:`find` (also when a concurrent request used it a moment before).
    :raise InvalidInput: the password is too short (the link stays usable).
    """
    reset = find(session, token)
    directory.check_password(password)
    now = utcnow()
    if not link_tokens.claim(session, reset, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now,
                             used_at=now):
        _require_open(reset, now)
        raise LinkGone("This password reset link was used already.")
    # The account's other open links close too: the password they would replace is gone.
    session.execute(update(PasswordReset).where(PasswordReset.user_id == reset.user_id,
                                                PasswordReset.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))
    user = reset.user
    directory.set_password(session, user, password, actor=None)
    audit.record(session, "account.password_reset", actor=user, subject_type="user", subject_id=user.id)
    return user
