"""Signing in: checking a password, with failed attempts counted in the database so every worker sees the same
limits."""

from __future__ import annotations

import datetime as dt
import math

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from issuer.accounts.directory import password_hasher
from issuer.errors import IssuerError
from issuer.models import LoginAttempt, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

#: Failed logins allowed per (account, address) pair before each further attempt from that pair waits; the wait
#: doubles with every failure (2, 4, 8 … seconds), up to ``MAX_DELAY``. Only the pair waits: the account's owner,
#: signing in from an address that has not failed, is never held up by an attacker failing elsewhere.
PAIR_FREE_FAILURES = 5
MAX_DELAY = dt.timedelta(minutes=15)
#: Failed logins allowed per client address in the window, whatever the accounts tried.
ADDRESS_LIMIT = 20
LIMIT_WINDOW = dt.timedelta(minutes=15)
#: Waits shorter than this are told in seconds, longer ones in minutes.
SHOWN_IN_SECONDS = 120


def pair_delay(failures: int) -> dt.timedelta:
    """How long a pair with ``failures`` recent failures waits after its last one (zero while under the limit)."""
    if failures < PAIR_FREE_FAILURES:
        return dt.timedelta(0)
    exponent = min(failures - PAIR_FREE_FAILURES + 1, 20)  # 2**20 s is far past the cap already
    return min(dt.timedelta(seconds=2 ** exponent), MAX_DELAY)


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
    """:raise RateLimited: this address failed too often for this account (a growing delay), or for any accounts
    (the window's limit)."""
    since = now - LIMIT_WINDOW
    failures, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at))
        .where(LoginAttempt.email == email, LoginAttempt.address == address, LoginAttempt.at > since)).one()
    if failures and last is not None:
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        wait = math.ceil((last + pair_delay(failures) - now).total_seconds())
        if wait > 0:
            raise RateLimited(f"Too many failed sign-in attempts for this account from your address. "
                              f"Try again in {_duration(wait)}.", retry_after=wait)
    by_address = session.scalar(select(func.count()).select_from(LoginAttempt)
                                .where(LoginAttempt.address == address, LoginAttempt.at > since)) or 0
    if by_address >= ADDRESS_LIMIT:
        minutes = int(LIMIT_WINDOW.total_seconds() // 60)
        raise RateLimited(f"Too many failed sign-in attempts from your network. Try again in {minutes} minutes.",
                          retry_after=int(LIMIT_WINDOW.total_seconds()))


def _duration(seconds: int) -> str:
    if seconds < SHOWN_IN_SECONDS:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


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
    # Only this address's failures for this account are forgiven: an attacker's elsewhere keep counting.
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.address == address))
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
