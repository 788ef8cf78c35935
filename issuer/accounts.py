"""Accounts: creating, deactivating, assigning, authenticating, API tokens.

Passwords are hashed with Argon2id. Failed logins are counted in the database
so every worker (gunicorn runs several) sees the same limits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from flask import Flask, current_app
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import audit
from issuer.database import transaction_of
from issuer.errors import Conflict, InvalidInput, IssuerError, NotFound, PermissionDenied
from issuer.models import ApiToken, Assignment, LoginAttempt, Role, User, utcnow

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
#: Failed logins allowed in the window, per account and per client address.
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
LIMIT_WINDOW = dt.timedelta(minutes=15)
TOKEN_PREFIX = "isk_"

#: Where each app keeps its hasher (built from its config on first use).
HASHER_KEY = "issuer.password_hasher"


class RateLimited(IssuerError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class InvalidCredentials(IssuerError):
    status_code = 401
    code = "invalid_credentials"


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 320:
        raise InvalidInput(f"{email!r} is not an e-mail address")
    return email


def password_hasher(app: Flask | None = None) -> PasswordHasher:
    """This app's Argon2id hasher, with the cost set by ``ISSUER_ARGON2_*`` (see ``issuer.config``)."""
    app = app or current_app._get_current_object()
    hasher = app.extensions.get(HASHER_KEY)
    if hasher is None:
        hasher = PasswordHasher(time_cost=app.config["ISSUER_ARGON2_TIME_COST"],
                                memory_cost=app.config["ISSUER_ARGON2_MEMORY_COST"],
                                parallelism=app.config["ISSUER_ARGON2_PARALLELISM"])
        app.extensions[HASHER_KEY] = hasher
    return hasher


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return password_hasher().hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(session: Session, *, email: str, name: str, role: Role | str, password: str,
                actor: User | None = None) -> User:
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput("a name is required")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; use admin, supervisor or therapist") from None
    user = User(
        email=email, name=name, role=role, password_hash=hash_password(password), active=True,
        created_at=utcnow(), recipient_salt=secrets.token_hex(16),
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict(f"an account for {email} already exists") from None
    audit.record(session, "account.created", actor=actor, subject_type="user", subject_id=user.id, role=role.value)
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalars(select(User).filter_by(email=email.strip().lower())).one_or_none()
    if user is None:
        raise NotFound(f"no account for {email}")
    return user


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    if user.id == actor.id and not active:
        raise InvalidInput("you cannot deactivate your own account")
    user.active = active
    audit.record(session, "account.activated" if active else "account.deactivated",
                 actor=actor, subject_type="user", subject_id=user.id)
    session.flush()


def assign(session: Session, *, supervisor: User, therapist: User, actor: User | None = None) -> Assignment:
    if supervisor.role is not Role.SUPERVISOR:
        raise InvalidInput(f"{supervisor.email} is not a supervisor")
    if therapist.role is not Role.THERAPIST:
        raise InvalidInput(f"{therapist.email} is not a therapist")
    existing = session.scalars(
        select(Assignment).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id)
    ).one_or_none()
    if existing is not None:
        return existing
    assignment = Assignment(supervisor_id=supervisor.id, therapist_id=therapist.id, created_at=utcnow())
    session.add(assignment)
    session.flush()
    audit.record(session, "assignment.created", actor=actor, subject_type="user", subject_id=therapist.id,
                 supervisor=supervisor.email, therapist=therapist.email)
    return assignment


def unassign(session: Session, *, supervisor: User, therapist: User, actor: User) -> None:
    session.info.pop(_ASSIGNED, None)
    session.execute(delete(Assignment).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id))
    audit.record(session, "assignment.removed", actor=actor, subject_type="user", subject_id=therapist.id,
                 supervisor=supervisor.email, therapist=therapist.email)


#: ``session.info`` key: the (supervisor id, therapist id) pairs found assigned in the current transaction, so
#: that one request asks the database once when both the view and the service check. Tied to the transaction
#: object: after a commit or rollback the pairs are asked again.
_ASSIGNED = "issuer.assigned"


def is_assigned(session: Session, *, supervisor: User, therapist: User) -> bool:
    pair = (supervisor.id, therapist.id)
    transaction, known = session.info.get(_ASSIGNED, (None, set()))
    if transaction is not None and transaction is transaction_of(session) and pair in known:
        return True
    assigned = session.scalar(
        select(Assignment.id).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id).limit(1)
    ) is not None
    if assigned:
        _remember_assigned(session, pair)
    return assigned


def _remember_assigned(session: Session, pair: tuple[int, int]) -> None:
    """Note ``pair`` as assigned for the rest of the current transaction (see ``_ASSIGNED``)."""
    transaction, known = session.info.get(_ASSIGNED, (None, set()))
    current = transaction_of(session)
    known = known if transaction is current else set()
    known.add(pair)
    session.info[_ASSIGNED] = (current, known)


_ASSIGNED_THERAPIST = (
    select(User).join(Assignment, Assignment.therapist_id == User.id)
    .where(User.id == bindparam("therapist_id"), Assignment.supervisor_id == bindparam("supervisor_id"))
)


def assigned_therapist(session: Session, *, supervisor: User, therapist_id: int) -> User | None:
    """The therapist with ``therapist_id`` if ``supervisor`` is assigned to them, in one query (remembered
    for the transaction like ``is_assigned``)."""
    therapist = session.scalar(_ASSIGNED_THERAPIST, {"therapist_id": therapist_id, "supervisor_id": supervisor.id})
    if therapist is not None:
        _remember_assigned(session, (supervisor.id, therapist.id))
    return therapist


def require_assignment(session: Session, *, supervisor: User, therapist: User) -> None:
    """:raise PermissionDenied: ``supervisor`` is not an active supervisor assigned to ``therapist``."""
    if supervisor.role is not Role.SUPERVISOR or not supervisor.active:
        raise PermissionDenied("only an assigned supervisor can do this")
    if not is_assigned(session, supervisor=supervisor, therapist=therapist):
        raise PermissionDenied(f"{supervisor.email} is not assigned to this therapist")


def assigned_therapists(session: Session, supervisor: User) -> list[User]:
    return list(session.scalars(
        select(User).join(Assignment, Assignment.therapist_id == User.id)
        .where(Assignment.supervisor_id == supervisor.id).order_by(User.name)
    ))


def supervisors_of(session: Session, therapist: User) -> list[User]:
    return list(session.scalars(
        select(User).join(Assignment, Assignment.supervisor_id == User.id)
        .where(Assignment.therapist_id == therapist.id).order_by(User.name)
    ))


def check_login_allowed(session: Session, *, email: str, address: str, now: dt.datetime) -> None:
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


def authenticate(session: Session, *, email: str, password: str, address: str) -> User:
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


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(session: Session, *, user: User, name: str) -> NewToken:
    name = name.strip() or "API token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], prefix=secret[:12], token_hash=hash_token(secret),
                     created_at=utcnow(), last_used_at=None, revoked_at=None)
    session.add(token)
    session.flush()
    audit.record(session, "token.created", actor=user, subject_type="api_token", subject_id=token.id, name=token.name)
    return NewToken(token=token, secret=secret)


def revoke_api_token(session: Session, *, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoked", actor=user, subject_type="api_token", subject_id=token.id)
    session.flush()


_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The token ``secret`` belongs to, if it is live: not revoked, its account active."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalars(_TOKEN_BY_HASH, {"token_hash": hash_token(secret)}).one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token


#: How stale a token's "last used" time may get before a use records it again. The token list shows it to the
#: minute; recording every use would write the token's row in every API call, and that row lock would make
#: concurrent calls with one token wait for each other's commit.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def record_token_use(session: Session, token: ApiToken, now: dt.datetime) -> bool:
    """Note that ``token`` was used at ``now`` unless a use within ``LAST_USED_RESOLUTION`` is noted, in the
    session's transaction (the caller commits); returns whether there was anything to note."""
    stale = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > stale:
        return False
    # Guarded, so that of concurrent calls the first records the time and the others, once it commits, match nothing.
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
        .values(last_used_at=now)
    )
    return True
