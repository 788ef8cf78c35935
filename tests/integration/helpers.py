"""Shared set-up for integration tests: people, an issued credential, threads released together."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from issuer.accounts import assignments, directory
from issuer.extensions import db
from issuer.frameworks.catalogue import import_framework, parse_framework
from issuer.identity import keystore
from issuer.issuance import completion
from issuer.learning import record_book
from issuer.models import Framework, Level, User, utcnow
from tests.conftest import PASSWORD, SEED_FRAMEWORK


def seed_people(app: Flask) -> dict[str, int]:
    """Framework, keys, an assigned supervisor, an unassigned one, a therapist, an admin."""
    with app.app_context():
        if db.session.scalars(select(Framework)).first() is None:
            import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        keystore.ensure_keys(db.session)
        made = {}
        for key, email, role, name in (
            ("supervisor", "sup@example.test", "supervisor", "Sam Supervisor"),
            ("other", "other@example.test", "supervisor", "Olive Other"),
            ("therapist", "ther@example.test", "therapist", "Taylor Therapist"),
            ("admin", "admin@example.test", "admin", "Alex Admin"),
        ):
            made[key] = directory.create_user(db.session, email=email, name=name, role=role, password=PASSWORD)
        assignments.assign(db.session, supervisor=made["supervisor"], therapist=made["therapist"])
        db.session.commit()
        return {k: u.id for k, u in made.items()}


def _mark_every_statement(people: dict[str, int], level_index: int) -> tuple[User, User, Level]:
    """Within a request: record every statement of a level as shown today, as the assigned supervisor; flushes."""
    sup = db.session.get_one(User, people["supervisor"])
    ther = db.session.get_one(User, people["therapist"])
    level = db.session.scalars(select(Framework)).first().levels[level_index]
    for statement in level.statements:
        record_book.mark_statement(db.session, supervisor=sup, therapist=ther, statement=statement,
                                   observed_on=utcnow().date(), note="Observed.")
    return sup, ther, level


def mark_level(app: Flask, people: dict[str, int], level_index: int = 0) -> None:
    """Record every statement of a level, as the assigned supervisor, without completing it."""
    with app.test_request_context():
        _mark_every_statement(people, level_index)
        db.session.commit()


def issue(app: Flask, people: dict[str, int], level_index: int = 0) -> uuid.UUID:
    """Record every statement of a level and complete it, as the assigned supervisor (one transaction)."""
    with app.test_request_context():
        sup, ther, level = _mark_every_statement(people, level_index)
        credential = completion.complete_level(db.session, supervisor=sup, therapist=ther, level=level)
        db.session.commit()
        return credential.id


def race(count: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(n)`` in ``count`` threads released together; what each returned, or the error it raised."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=120)
            outcomes[n] = attempt(n)
        except BaseException as error:  # noqa: BLE001 (recorded, and asserted by the caller)
            outcomes[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def race_requests(app: Flask, count: int, send: Callable[[Any, int], Any]) -> list[tuple[int, Any]]:
    """``count`` test clients send at once (``send(client, n)`` returns the response): each answer as
    (status, JSON body or None). Fails when a request raised instead of answering."""
    clients = [app.test_client() for _ in range(count)]

    def attempt(n: int) -> tuple[int, Any]:
        response = send(clients[n], n)
        return response.status_code, response.get_json(silent=True)

    outcomes = race(count, attempt)
    assert all(isinstance(outcome, tuple) for outcome in outcomes), outcomes
    return outcomes


# --- an OpenID4VCI wallet: its key, its did:jwk and its key proofs ----------------------------------------------
def wallet_key() -> Any:
    """A fresh Ed25519 key, as a wallet makes one."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


def wallet_jwk(key: Any) -> dict[str, str]:
    """The public JWK of a wallet key (RFC 8037)."""
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def wallet_did_jwk(key: Any) -> str:
    """did:jwk of a wallet key (base64url of its JWK's JSON)."""
    import base64
    import json

    text = json.dumps(wallet_jwk(key), separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def wallet_proof(key: Any, *, audience: str, nonce: str | None, iat: int | None = None,
                 header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None) -> str:
    """An OID4VCI ``jwt`` key proof signed with PyJWT (EdDSA), its key named by its did:jwk DID URL by default."""
    import time

    import jwt

    payload: dict[str, Any] = {"aud": audience, "iat": int(time.time()) if iat is None else iat}
    if nonce is not None:
        payload["nonce"] = nonce
    payload.update(claims or {})
    headers = {"typ": "openid4vci-proof+jwt", "kid": wallet_did_jwk(key) + "#0", **(header or {})}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)
