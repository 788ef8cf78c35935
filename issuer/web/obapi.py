"""The Open Badges 3.0 API views (``/ims/ob/v3p0``, OB 3.0 sections 6 and 7).

Discovery is open; ``/credentials`` and ``/profile`` take OAuth 2.0 access tokens with the OB scopes; errors
are ``imsx_StatusInfo``. The views parse, check the scope, call ``issuer.protocols.obapi`` and answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from issuer.api.auth import read_json
from issuer.errors import IssuerError
from issuer.extensions import db
from issuer.models import User
from issuer.models.oauth import OAuthToken
from issuer.protocols import oauth, obapi
from issuer.protocols.obapi import API_PREFIX, ObApiError

bp = Blueprint("obapi", __name__, url_prefix=API_PREFIX)


def imsx(status: int, description: str, *, minor: str | None = None,
         headers: dict[str, str] | None = None) -> Response:
    """An ``imsx_StatusInfo`` error response."""
    response = Response(json.dumps(obapi.status_info(status, description, minor=minor)), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return imsx(error.code or 500, error.description or error.name)


@bp.errorhandler(IssuerError)
def _issuer_error(error: IssuerError) -> Response:
    return imsx(error.status_code, error.message)


@bp.errorhandler(ObApiError)
def _refused(error: ObApiError) -> Response:
    return imsx(error.status, error.description, minor=error.minor)


def require_scope(scope: str) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """An OAuth 2.0 bearer token with ``scope``: 401 without a valid token, 403 with too little scope."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            try:
                oauth.resource_protector.acquire_token([scope])
            except OAuth2Error as error:
                status = error.status_code or 401
                headers = dict(error.get_headers())
                headers.pop("Content-Type", None)
                if status == HTTPStatus.UNAUTHORIZED and (
                        error.error == "missing_authorization" or "WWW-Authenticate" not in headers):
                    headers["WWW-Authenticate"] = 'Bearer realm="issuer"'  # RFC 6750 3.1: no error code here
                return imsx(status, error.description or error.error or "unauthorized", headers=headers)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def token_user() -> User:
    from authlib.integrations.flask_oauth2 import current_token

    token: OAuthToken = current_token._get_current_object()
    return token.user


@bp.get("/discovery")
def discovery() -> ResponseReturnValue:
    """OB 3.0 6.3: the Service Description Document; MUST NOT be protected."""
    return Response(json.dumps(obapi.service_description()), mimetype="application/json")


@bp.get("/credentials")
@require_scope(oauth.SCOPE_CREDENTIAL_READONLY)
def get_credentials() -> ResponseReturnValue:
    """getCredentials: the user's issued credentials, then the ones they uploaded, oldest first."""
    limit, offset, since = obapi.paging(request.args)
    body, total = obapi.credentials_of(db.session, token_user(), limit=limit, offset=offset, since=since)
    response = Response(body, mimetype="application/json")
    response.headers["X-Total-Count"] = str(total)
    if limit is not None:
        response.headers["Link"] = obapi.paging_links(total=total, limit=limit, offset=offset,
                                                      since=request.args.get("since"))
    return response


@bp.post("/credentials")
@require_scope(oauth.SCOPE_CREDENTIAL_UPSERT)
def upsert_credential() -> ResponseReturnValue:
    """upsertCredential: keep a credential that verifies and names the token's user. 201 new, 200 replaced,
    304 identical."""
    if (request.content_length or 0) > obapi.MAX_UPLOAD_BYTES:
        return imsx(413, "The credential is larger than 1 MB.")
    data: str | dict[str, Any]
    if request.mimetype == "application/json":
        body = read_json(max_bytes=obapi.MAX_UPLOAD_BYTES)  # a refusal is an IssuerError: imsx, 400 or 413
        if not isinstance(body, dict):
            return imsx(400, "The body must be a credential (a JSON object).")
        data = body
    elif request.mimetype == "text/plain":
        data = request.get_data(as_text=True)
    else:
        return imsx(415, "Send application/json (a credential) or text/plain (a compact JWS).")
    status, content, fmt = obapi.hold_credential(db.session, token_user(), data)
    if status == HTTPStatus.NOT_MODIFIED:
        return Response(status=304)
    return Response(content, status=status, mimetype="application/json" if fmt == "ldp_vc" else "text/plain")


@bp.get("/profile")
@require_scope(oauth.SCOPE_PROFILE_READONLY)
def get_profile() -> ResponseReturnValue:
    return Response(json.dumps(obapi.profile_of(token_user())), mimetype="application/json")


@bp.put("/profile")
@require_scope(oauth.SCOPE_PROFILE_UPDATE)
def put_profile() -> ResponseReturnValue:
    """putProfile. Only ``name`` can change here; the e-mail address is the sign-in name and stays."""
    obapi.update_profile(token_user(), read_json())
    return Response(json.dumps(obapi.profile_of(token_user())), mimetype="application/json")
