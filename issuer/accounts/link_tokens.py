"""The secret in an e-mailed link (an invitation or a password reset): made here, stored only as its SHA-256.

Also what both kinds of link do with their row: find it by the token's hash, and claim it once (one conditional
UPDATE, so that of two concurrent uses exactly one wins).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update

from issuer.models import Invitation, PasswordReset
from issuer.platform.database import SessionLike

#: A row an e-mailed link names.
LinkRow = TypeVar("LinkRow", Invitation, PasswordReset)

#: 32 random bytes, base64url: what ``secrets.token_urlsafe(32)`` makes (43 characters).
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> tuple[str, str]:
    """A fresh token for the link, and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one of ours (anything else is unknown without a database lookup)."""
    return bool(TOKEN_PATTERN.match(token))


def find_row(session: SessionLike, model: type[LinkRow], token: str) -> LinkRow | None:
    """The row of ``model`` whose stored hash is this token's, or None (a malformed token is not looked up)."""
    if not well_formed(token):
        return None
    return session.scalars(select(model).filter_by(token_hash=hash_token(token))).first()


def claim(session: SessionLike, row: LinkRow, *conditions: ColumnElement[bool], **values: Any) -> bool:
    """Set ``values`` on ``row`` only while ``conditions`` still hold in the database, in one conditional UPDATE;
    whether this call did (False: a concurrent request changed the row first). ``row`` is refreshed either way."""
    model = type(row)
    done = session.execute(
        update(model).where(model.id == row.id, *conditions).values(**values).returning(model.id)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    session.refresh(row)
    return done is not None
