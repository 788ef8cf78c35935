"""The secret in an e-mailed link (an invitation or a password reset): made here, stored only as its SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets

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
