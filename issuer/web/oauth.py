"""The OAuth 2.0 endpoints: authorization (sign in, then consent), token, client registration, revocation and
the server's metadata. The protocol is Authlib's, set up in ``issuer.protocols.oauth``; these views sign the
user in, ask for consent, hand the request over and commit what it wrote.
"""

from __future__ import annotations

import json

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import SubmitField

from issuer.api.auth import read_json
from issuer.errors import IssuerError, error_response
from issuer.platform.ratelimit import rate_limited
from issuer.protocols import oauth

bp = Blueprint("oauth", __name__)


def _answer(response: object) -> Response:
    """What Authlib's Flask server answered: always a Flask ``Response`` (its stubs type the results as the base
    server's, loosely); anything else is a programming error, as it would be for Flask."""
    if not isinstance(response, Response):
        raise TypeError(f"Authlib answered with {type(response).__name__}, not a Response")
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return error_response(status, (error.name or "error").lower().replace(" ", "_"), error.description or error.name)


@bp.errorhandler(IssuerError)
def _issuer_error(error: IssuerError) -> Response:
    if request.endpoint == "oauth.register":  # RFC 7591 3.2.2's shape, JSON whatever the client accepts
        response = Response(json.dumps({"error": error.code, "error_description": error.message}),
                            status=error.status_code, mimetype="application/json")
    else:
        response = error_response(error.status_code, error.code, error.message)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:  # a rate limit (registration)
        response.headers["Retry-After"] = str(retry_after)
    return response


class ConsentForm(FlaskForm):
    approve = SubmitField("Allow")
    deny = SubmitField("Deny")


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """The authorization endpoint: sign in (the site's session), then approve the scopes on a consent page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    server = oauth.authorization_server()
    try:
        grant = server.get_consent_grant(end_user=current_user._get_current_object())
    except OAuth2Error as error:
        if getattr(error, "redirect_uri", None):
            return _answer(server.handle_error_response(server.create_oauth2_request(request), error))
        return error_response(400, error.error or "invalid_request",
                              error.description or "Invalid authorization request.")
    form = ConsentForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return error_response(400, "csrf", "The form expired; go back and try again.")
        grant_user = current_user._get_current_object() if form.approve.data else None
        return _answer(server.create_authorization_response(grant_user=grant_user, grant=grant))
    requested = (grant.request.scope or "").split()
    if getattr(grant.request, "authorization_details", None) and oauth.SCOPE_OID4VCI not in requested:
        requested.append(oauth.SCOPE_OID4VCI)  # authorization_details of type openid_credential ask for it
    scopes = [(scope, oauth.SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in requested]
    return render_template("oauth/authorize.html", form=form, client=grant.client, scopes=scopes,
                           action=request.full_path)


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    response = _answer(oauth.authorization_server().create_token_response())
    response.headers["Cache-Control"] = "no-store"  # access and refresh tokens (RFC 6749 5.1), errors alike
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/oauth/register")
@rate_limited("register", "ISSUER_REGISTER_RATE_LIMIT")
def register() -> ResponseReturnValue:
    """RFC 7591 dynamic client registration (OB 3.0: no initial access token; 201)."""
    try:
        read_json()  # strict first: Authlib's own reading lets the last of two equal keys win
    except IssuerError as error:  # RFC 7591 3.2.2 error shape
        return Response(json.dumps({"error": "invalid_client_metadata", "error_description": error.message}),
                        status=error.status_code, mimetype="application/json")
    response = _answer(oauth.authorization_server().create_endpoint_response("client_registration"))
    response.headers["Cache-Control"] = "no-store"  # the client's secret, shown once (RFC 7591 3.2.1)
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/oauth/revoke")
def revoke() -> ResponseReturnValue:
    """RFC 7009 token revocation."""
    return _answer(oauth.authorization_server().create_endpoint_response("revocation"))


@bp.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata() -> ResponseReturnValue:
    """RFC 8414; OID4VCI wallets find the token endpoint here."""
    return Response(json.dumps(oauth.authorization_server_metadata()), mimetype="application/json")
