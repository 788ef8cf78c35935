"""API tokens: creating, revoking, looking up by secret (stored as a SHA-256 only) and noting their use."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update

from issuer.errors import NotFound
from issuer.models import ApiToken, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

TOKEN_PREFIX = "isk_"  # noqa: S105 (the public prefix that marks an API token, not a secret)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(session: SessionLike, *, user: User, name: str) -> NewToken:
    name = name.strip() or "API token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], prefix=secret[:12], token_hash=hash_token(secret),
                     created_at=utcnow(), last_used_at=None, revoked_at=None)
    session.add(token)
    session.flush()
    audit.record(session, "token.created", actor=user, subject_type="api_token", subject_id=token.id, name=token.name)
    return NewToken(token=token, secret=secret)


def revoke_api_token(session: SessionLike, *, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoked", actor=user, subject_type="api_token", subject_id=token.id)
    session.flush()


_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def token_for_secret(session: SessionLike, secret: str) -> ApiToken | None:
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


def record_token_use(session: SessionLike, token: ApiToken, now: dt.datetime) -> bool:
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
