"""Signing in: checking a password, with failed attempts counted in the database so every worker sees the same
limits."""

from __future__ import annotations

import datetime as dt

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from issuer.accounts.directory import password_hasher
from issuer.errors import IssuerError
from issuer.models import LoginAttempt, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

#: Failed logins allowed in the window, per account and per client address.
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
LIMIT_WINDOW = dt.timedelta(minutes=15)


class RateLimited(IssuerError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class InvalidCredentials(IssuerError):
    status_code = 401
    code = "invalid_credentials"


def check_login_allowed(session: SessionLike, *, email: str, address: str, now: dt.datetime) -> None:
    """:raise RateLimited: too many recent failures for this account or from this address."""
    since = now - LIMIT_WINDOW
    by_account = session.scalar(select(func.count()).select_from(LoginAttempt)
                                .where(LoginAttempt.email == email, LoginAttempt.at > since)) or 0
    by_address = session.scalar(select(func.count()).select_from(LoginAttempt)
                                .where(LoginAttempt.address == address, LoginAttempt.at > since)) or 0
    minutes = int(LIMIT_WINDOW.total_seconds() // 60)
    if by_account >= ACCOUNT_LIMIT:
        raise RateLimited(f"Too many failed sign-in attempts for this account. Try again in {minutes} minutes.",
                          retry_after=int(LIMIT_WINDOW.total_seconds()))
    if by_address >= ADDRESS_LIMIT:
        raise RateLimited(f"Too many failed sign-in attempts from your network. Try again in {minutes} minutes.",
                          retry_after=int(LIMIT_WINDOW.total_seconds()))


def authenticate(session: SessionLike, *, email: str, password: str, address: str) -> User:
    """Check a password, counting failures. The caller commits, whatever the outcome.

    :raise RateLimited: before checking anything, when the limit is reached.
    :raise InvalidCredentials: unknown e-mail, wrong password or inactive account (one message for all).
    """
    email = email.strip().lower()
    now = utcnow()
    check_login_allowed(session, email=email, address=address, now=now)
    user = session.scalars(select(User).filter_by(email=email)).one_or_none()
    ok = False
    hasher = password_hasher()
    if user is not None:
        try:
            ok = hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        hasher.hash(password or "x")  # same work either way, so timing does not reveal who has an account
    if not ok or user is None or not user.active:
        session.add(LoginAttempt(email=email, address=address, at=now))
        audit.record(session, "login.failed", actor=user, subject_type="user",
                     subject_id=user.id if user else None, email=email)
        raise InvalidCredentials("Wrong e-mail address or password, or the account is deactivated.")
    if hasher.check_needs_rehash(user.password_hash):  # the hash was made with other parameters: redo it with ours
        user.password_hash = hasher.hash(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    audit.record(session, "login.succeeded", actor=user, subject_type="user", subject_id=user.id)
    return user


def end_sessions(session: SessionLike, user: User) -> None:
    """End every session of ``user`` (sign-out, password change): sessions signed in before carry an older epoch.

    One UPDATE adding 1, so concurrent sign-outs each move the epoch on. Flushes only.
    """
    session.execute(update(User).where(User.id == user.id)
                    .values(session_epoch=User.session_epoch + 1)
                    .execution_options(synchronize_session=False))
    session.expire(user, ["session_epoch"])
    audit.record(session, "login.signed_out", actor=user, subject_type="user", subject_id=user.id)
