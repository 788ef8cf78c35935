"""OID4VCI views: the issuer metadata, the therapist's "send to wallet" page and the credential endpoint.

What they do is in ``issuer.protocols.oid4vci``; these parse, authorize and answer.
"""

from __future__ import annotations

import json
import uuid

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import SubmitField

from issuer.api.auth import read_json
from issuer.badges import qr_svg_inline
from issuer.errors import IssuerError, error_response
from issuer.extensions import db
from issuer.models import Credential
from issuer.models.base import utcnow
from issuer.models.oauth import OAuthToken
from issuer.protocols import oauth, oid4vci
from issuer.protocols.oid4vci import Oid4vciError

bp = Blueprint("oid4vci", __name__)


def _oid4vci_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps({"error": error, "error_description": description}), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if request.path.startswith("/oid4vci/"):
        return Response(json.dumps({"error": "invalid_request", "error_description": error.description}),
                        status=status, mimetype="application/json")
    return error_response(status, (error.name or "error").lower().replace(" ", "_"), error.description or error.name)


@bp.errorhandler(IssuerError)
def _issuer_error(error: IssuerError) -> Response:
    return error_response(error.status_code, error.code, error.message)


@bp.errorhandler(Oid4vciError)
def _refused(error: Oid4vciError) -> Response:
    return _oid4vci_error(error.status, error.error, error.description, error.headers)


@bp.get("/.well-known/openid-credential-issuer")
def openid_credential_issuer() -> ResponseReturnValue:
    return Response(json.dumps(oid4vci.credential_issuer_metadata()), mimetype="application/json")


class OfferForm(FlaskForm):
    create = SubmitField("Create a wallet offer")


@bp.route("/me/credentials/<uuid:credential_id>/wallet", methods=["GET", "POST"])
@login_required
def send_to_wallet(credential_id: uuid.UUID) -> ResponseReturnValue:
    """"Send to wallet": an OID4VCI offer for one of the signed-in therapist's own credentials."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.therapist_id != current_user.id:
        return error_response(404, "not_found", "No such credential of yours.")
    form = OfferForm()
    link = qr = None
    expires_minutes = oauth.PRE_AUTHORIZED_CODE_SECONDS // 60
    if credential.revoked_at is None and form.validate_on_submit():
        _, document = oid4vci.create_offer(db.session, credential, now=utcnow())
        link = oid4vci.offer_link(document)
        qr = qr_svg_inline(link)
    elif request.method == "POST":
        return error_response(400, "bad_request", "The offer could not be created; go back and try again.")
    response = Response(render_template("oauth/wallet.html", form=form, credential=credential, link=link, qr=qr,
                                        expires_minutes=expires_minutes))
    response.headers["Cache-Control"] = "no-store"  # the offer holds a live pre-authorized code
    return response


@bp.post("/oid4vci/credential")
def credential_endpoint() -> ResponseReturnValue:
    """OID4VCI 8: the stored, signed credential of the offer the access token came from."""
    try:
        token_row: OAuthToken = oauth.resource_protector.acquire_token([oauth.SCOPE_OID4VCI])
    except OAuth2Error as error:
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        return _oid4vci_error(error.status_code or 401, error.error or "invalid_token",
                              error.description or "", headers)
    try:
        body = read_json()
    except IssuerError as error:  # OID4VCI 8.3.1 shape, not the site's
        return _oid4vci_error(error.status_code, "invalid_credential_request", error.message)
    issued = oid4vci.offered_credential(token_row, body)
    response = Response(json.dumps({"credentials": [{"credential": issued}]}), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
