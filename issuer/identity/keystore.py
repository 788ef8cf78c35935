"""The issuer's signing keys: generation, rotation, and loading for signing.

Private keys live only as PKCS#8 PEM files (mode 0600, encrypted when
``ISSUER_KEY_PASSPHRASE`` is set) in ``ISSUER_KEYS_DIR``; the database holds
their public halves so the DID document and JWKS can list every key, current
and retired. A key file that is missing or unusable stops signing with a
named error: the service never quietly makes itself a new identity.

Two ways a key stops signing: ``rotate`` (routine: the old key is retired and stays published, so what it
signed keeps verifying) and ``revoke`` (after a compromise: the key is withdrawn from the DID document and
the JWKS at once, and a current key is replaced in the same transaction so signing goes on).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app
from sqlalchemy import select

from issuer.credentials import keyfiles, multikey
from issuer.credentials.errors import KeyFileError, KeyFormatError
from issuer.errors import Conflict, InvalidInput, IssuerError, NotFound
from issuer.models import IssuerKey, User, utcnow
from issuer.platform.cache import app_cache
from issuer.platform.database import SessionLike, transaction_of

ED25519 = "Ed25519"
RSA = "RSA"
ALGORITHMS = (ED25519, RSA)


class KeyUnavailable(IssuerError):
    """Signing cannot go on: no current key, or its file cannot be used."""

    status_code = 503
    code = "signing_key_unavailable"


class KeyMismatch(KeyUnavailable):
    """The private key file does not belong to the public key the service publishes under its kid."""

    code = "signing_key_mismatch"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: Any


def keys_dir() -> Path:
    return Path(current_app.config["ISSUER_KEYS_DIR"])


def key_path(kid: str) -> Path:
    return keys_dir() / f"{kid}.pem"


def generate_key(session: SessionLike, algorithm: str) -> IssuerKey:
    """Create a key pair: the private half to a new 0600 file, the public half to the database."""
    if algorithm not in ALGORITHMS:
        raise IssuerError(f"unknown key algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    now = utcnow()
    kid = f"{algorithm.lower()}-{now:%Y%m%d}-{secrets.token_hex(4)}"
    private = keyfiles.generate_ed25519() if algorithm == ED25519 else keyfiles.generate_rsa()
    directory = keys_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    keyfiles.write_private_key(key_path(kid), private, passphrase=current_app.config.get("ISSUER_KEY_PASSPHRASE"))
    public = private.public_key()
    key = IssuerKey(
        kid=kid,
        algorithm=algorithm,
        public_multibase=multikey.encode_ed25519_multikey(public) if isinstance(public, Ed25519PublicKey) else None,
        public_jwk=multikey.public_jwk(public, kid=kid),
        created_at=now,
        retired_at=None,
    )
    session.add(key)
    session.flush()
    session.info.pop(_CURRENT, None)
    return key


def ensure_keys(session: SessionLike) -> list[IssuerKey]:
    """Create a key of each algorithm that has never had one. Returns the keys created.

    Only a database with no key of that algorithm at all gets one: once keys
    exist, a missing file is an error to fix, not a reason to start over.
    """
    return [generate_key(session, algorithm) for algorithm in ALGORITHMS
            if session.scalars(select(IssuerKey).filter_by(algorithm=algorithm).limit(1)).first() is None]


def rotate(session: SessionLike, algorithms: tuple[str, ...] = ALGORITHMS, *,
           actor: User | None = None) -> list[IssuerKey]:
    """Make new current keys and retire the old ones, which stay published for verification. Audited."""
    from issuer.platform import audit

    now = utcnow()
    new = []
    for algorithm in algorithms:
        for old in session.scalars(select(IssuerKey).filter_by(algorithm=algorithm, retired_at=None)):
            old.retired_at = now
        session.info.pop(_CURRENT, None)
        new.append(generate_key(session, algorithm))
    audit.record(session, "keys.rotated", actor=actor, subject_type="keys", subject_id=",".join(k.kid for k in new))
    return new


def all_keys(session: SessionLike) -> list[IssuerKey]:
    """Every key, revoked ones included (the administration page and ``issuer keys list`` show them)."""
    return list(session.scalars(select(IssuerKey).order_by(IssuerKey.created_at, IssuerKey.id)))


def published_keys(session: SessionLike) -> list[IssuerKey]:
    """The keys the DID document and the JWKS publish: current and retired, never revoked."""
    return list(session.scalars(select(IssuerKey).where(IssuerKey.revoked_at.is_(None))
                                .order_by(IssuerKey.created_at, IssuerKey.id)))


def get_key(session: SessionLike, kid: str) -> IssuerKey:
    """:raise NotFound: no key has this kid."""
    key = session.scalars(select(IssuerKey).filter_by(kid=(kid or "").strip())).one_or_none()
    if key is None:
        raise NotFound(f"no issuer key {kid!r}; `issuer keys list` shows every key")
    return key


MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class KeyRevocation:
    key: IssuerKey
    #: The new current key of the same algorithm, when the revoked key was current.
    replacement: IssuerKey | None


def revoke(session: SessionLike, kid: str, *, reason: str, actor: User | None = None) -> KeyRevocation:
    """Withdraw ``kid`` after a compromise: it leaves the DID document and the JWKS, and never signs again.

    A current key is replaced by a new key of its algorithm in the same transaction, so signing goes on. What the
    key signed stops verifying; ``issuer.issuance.reissue`` lists it and signs it again. Audited. Flushes only.

    :raise NotFound: no such key. :raise InvalidInput: no reason. :raise Conflict: the key is already revoked.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give the reason for revoking the key (for example how it was compromised)")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    key = session.scalars(select(IssuerKey).filter_by(kid=(kid or "").strip()).with_for_update()).one_or_none()
    if key is None:
        raise NotFound(f"no issuer key {kid!r}; `issuer keys list` shows every key")
    if key.revoked_at is not None:
        raise Conflict(f"key {key.kid} was already revoked on {key.revoked_at:%Y-%m-%d}")
    from issuer.platform import audit

    now = utcnow()
    was_current = key.retired_at is None
    key.revoked_at, key.revocation_reason = now, reason
    if was_current:
        key.retired_at = now
    session.flush()
    session.info.pop(_CURRENT, None)
    replacement = generate_key(session, key.algorithm) if was_current else None
    audit.record(session, "keys.revoked", actor=actor, subject_type="key", subject_id=key.kid, reason=reason,
                 algorithm=key.algorithm, was_current=was_current,
                 replacement=replacement.kid if replacement is not None else None)
    return KeyRevocation(key=key, replacement=replacement)


#: ``session.info`` key: the current key of each algorithm, read once per transaction (signing a credential
#: needs both; a rotation in the same transaction drops it).
_CURRENT = "issuer.current_keys"
_CURRENT_KEYS = (select(IssuerKey).where(IssuerKey.retired_at.is_(None), IssuerKey.revoked_at.is_(None))
                 .order_by(IssuerKey.created_at, IssuerKey.id))


def current_key(session: SessionLike, algorithm: str) -> IssuerKey:
    transaction, current = session.info.get(_CURRENT, (None, None))
    if current is None or transaction is not transaction_of(session):
        current = {}
        for newer in session.scalars(_CURRENT_KEYS):
            current[newer.algorithm] = newer  # the newest of each algorithm wins
        session.info[_CURRENT] = (transaction_of(session), current)
    key: IssuerKey | None = current.get(algorithm)
    if key is None:
        raise KeyUnavailable(f"no current {algorithm} signing key; run `issuer keys generate`")
    return key


#: Loaded private keys, per app, by file path and passphrase, with the file's identity. Loading (and checking) an
#: RSA-3072 key costs about 0.1 s; the file is still stat'ed before every use, so a key file that disappears, is
#: replaced, or has its permissions changed is noticed at once and goes through every check of a fresh load.
LOADED_KEYS_CACHE_SIZE = 16


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    info = os.lstat(path)  # lstat: a symlink is its own identity, and load_private_key refuses it
    return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)


def signing_key(session: SessionLike, algorithm: str) -> SigningKey:
    """The current key of ``algorithm`` with its private half loaded from its file."""
    key = current_key(session, algorithm)
    path = key_path(key.kid)
    try:
        identity = _file_identity(path)
    except OSError:
        identity = None
    passphrase = current_app.config.get("ISSUER_KEY_PASSPHRASE")
    slot = (str(path), passphrase)  # a different passphrase must prove itself on the file again
    loaded = app_cache("identity.loaded_keys", LOADED_KEYS_CACHE_SIZE)
    cached = loaded.get(slot)
    if identity is not None and cached is not None and cached[0] == identity:
        return SigningKey(kid=key.kid, algorithm=algorithm, private_key=cached[1])
    loaded.pop(slot, None)
    try:
        private = keyfiles.load_private_key(path, passphrase=passphrase)
    except KeyFileError as error:
        raise KeyUnavailable(f"signing key {key.kid}: {error}") from None
    check_matches(key, private)
    if identity is not None:
        loaded.put(slot, (identity, private))
    return SigningKey(kid=key.kid, algorithm=algorithm, private_key=private)


def check_matches(key: IssuerKey, private: Any) -> None:
    """Refuse a private key whose public half is not the one recorded (and published) for ``key``.

    A key file replaced by another valid key would otherwise sign credentials and status lists that nobody can
    verify against the DID document or the JWKS.

    :raise KeyMismatch: the file holds another key.
    """
    try:
        public = multikey.public_jwk(private.public_key(), kid=key.kid)
    except (AttributeError, KeyFormatError) as error:
        raise KeyMismatch(
            f"signing key {key.kid}: the key file holds no usable {key.algorithm} key ({error})") from None
    if public != key.public_jwk:
        raise KeyMismatch(f"signing key {key.kid}: the key file holds another key than the public key published "
                          "for it; restore the right file (signing is stopped until then)")
