"""Bearer-token authentication for the API, and idempotency of state-changing calls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from issuer.errors import Conflict, InvalidInput, IssuerError
from issuer.extensions import db
from issuer.models import IdempotencyKey, Role, User, utcnow
from issuer.accounts import api_tokens

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
            token = api_tokens.token_for_secret(db.session, secret.strip())
            if token is None:
                raise Unauthorized("the API token is unknown, revoked, or its account is deactivated")
            if api_tokens.record_token_use(db.session, token, utcnow()):
                db.session.commit()  # on its own: a use counts even when the call only reads, or fails
            user = token.user
            if roles and user.role not in roles:
                from issuer.errors import PermissionDenied

                raise PermissionDenied("this token's account cannot use this endpoint")
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidInput("send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
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
        if stored is not None:
            if stored.request_hash != fingerprint:
                raise Conflict("this Idempotency-Key was used for a different request")
            response = Response(stored.body, status=stored.status_code, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        response = view(*args, **kwargs)  # the view has committed its work
        if isinstance(response, Response) and response.status_code < 500:
            try:
                db.session.add(IdempotencyKey(user_id=user.id, key=key, request_hash=fingerprint,
                                              status_code=response.status_code, body=response.get_data(as_text=True),
                                              created_at=utcnow()))
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # a concurrent retry stored it first; its answer is the same work
        return response

    return wrapped  # type: ignore[return-value]


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)
