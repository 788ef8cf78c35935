"""Bearer-token authentication for the API, and idempotency of state-changing calls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response, g, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.accounts import api_tokens
from issuer.credentials import jsonparse
from issuer.credentials.errors import JSONInputError
from issuer.errors import Conflict, InvalidInput, IssuerError
from issuer.extensions import db
from issuer.models import IdempotencyKey, Role, User, utcnow
from issuer.platform import database
from issuer.verification import inputs

F = TypeVar("F", bound=Callable[..., Any])
MAX_IDEMPOTENCY_KEY = 200


class Unauthorized(IssuerError):
    status_code = 401
    code = "unauthorized"


def current_api_user() -> User:
    return g.api_user  # type: ignore[no-any-return]


def token_required(*roles: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise Unauthorized("send a personal API token as 'Authorization: Bearer <token>'")
            user = _token_user(secret.strip())
            if roles and user.role not in roles:
                from issuer.errors import PermissionDenied

                raise PermissionDenied("this token's account cannot use this endpoint")
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _token_user(secret: str) -> User:
    """The live token's account, its use noted in a short transaction of its own, before the request's own begins:
    a use counts even when the call only reads or fails, and is never the request's commit. (Before: on SQLite, a
    request that had read and then saw another connection commit could not write any more.)"""
    with Session(db.engine) as own:
        token = api_tokens.token_for_secret(own, secret)
        if token is None:
            raise Unauthorized("the API token is unknown, revoked, or its account is deactivated")
        user_id, now = token.user_id, utcnow()
        if token.last_used_at is None or token.last_used_at <= now - api_tokens.LAST_USED_RESOLUTION:
            # Noted in a transaction that begins afresh as a writer (SQLite: BEGIN IMMEDIATE, waiting for the write
            # lock): one that had read first could not write once a concurrent call had noted its own use.
            own.rollback()
            with database.writing():
                if api_tokens.record_token_use(own, token, now):  # at most once per LAST_USED_RESOLUTION
                    own.commit()
    user = db.session.get(User, user_id)
    if user is None or not user.active:  # deactivated in between
        raise Unauthorized("the API token is unknown, revoked, or its account is deactivated")
    return user


class PayloadTooLarge(IssuerError):
    status_code = 413
    code = "payload_too_large"


def read_json(*, max_bytes: int = jsonparse.MAX_BYTES) -> Any:
    """The request body read as strict JSON: the one way the service reads a JSON request body.

    Flask's ``get_json`` lets the last of two equal keys win, so a body could mean one thing here and another
    to whoever signed or checks it; ``jsonparse.loads`` refuses that, and NaN, deep nesting and the like.

    :raise PayloadTooLarge: the body is larger than ``max_bytes`` (413).
    :raise InvalidInput: the body is not strict JSON; the message names the rule and where (400).
    """
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes:,} bytes")
    raw = request.get_data(cache=True)  # cached: the idempotency fingerprint reads it again
    try:
        return jsonparse.loads(inputs.utf8_bytes(raw), max_bytes=max_bytes)  # RFC 8259 8.1: a BOM may be ignored
    except JSONInputError as error:
        refusal = PayloadTooLarge if error.reason == "too_large" else InvalidInput
        raise refusal(f"the body is not acceptable JSON: {error}", reason=error.reason) from None


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidInput("send a JSON body with Content-Type: application/json")
    body = read_json()
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def idempotent(view: F) -> F:
    """Replay the stored answer when a call comes again with the same ``Idempotency-Key``.

    The same key with a different body is a 409: the client reused a key by mistake.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
        user = current_api_user()
        fingerprint = hashlib.sha256(
            request.method.encode() + request.path.encode() + b"\0" + request.get_data()
        ).hexdigest()
        stored = db.session.scalars(select(IdempotencyKey).filter_by(user_id=user.id, key=key)).one_or_none()
        if stored is not None:  # a replay writes nothing
            return _replayed(stored, fingerprint)
        # Claim the key before the work, in the work's transaction: a concurrent call with the same key waits at
        # this insert until the first one ends; if that one kept its answer, this call replays it, and if it failed
        # (its transaction, claim included, rolled back), this call does the work itself.
        claimed = db.session.scalar(
            database.insert_or_ignore(db.session, IdempotencyKey).values(
                user_id=user.id, key=key, request_hash=fingerprint, status_code=0, body="", created_at=utcnow(),
            ).returning(IdempotencyKey.id)
        )
        if claimed is None:
            stored = db.session.scalars(select(IdempotencyKey).filter_by(user_id=user.id, key=key)).one()
            return _replayed(stored, fingerprint)
        response = view(*args, **kwargs)
        # An error answer keeps nothing: the request boundary rolls it back, claim included.
        if isinstance(response, Response) and response.status_code < HTTPStatus.BAD_REQUEST:
            db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claimed).values(
                status_code=response.status_code, body=response.get_data(as_text=True)))
        return response

    return wrapped  # type: ignore[return-value]


def _replayed(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different request")
    response = Response(stored.body, status=stored.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)
