"""OID4VCI views: the issuer metadata, the therapist's "send to wallet" page, and the nonce and credential
endpoints.

What they do is in ``issuer.protocols.oid4vci``; these parse, authorize and answer.
"""

from __future__ import annotations

import json
import uuid

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import BooleanField, StringField, SubmitField

from issuer.api.auth import read_json
from issuer.badges import qr_svg_inline
from issuer.errors import IssuerError, error_response
from issuer.extensions import db
from issuer.issuance import deliveries
from issuer.models import Credential, WalletDelivery
from issuer.models.base import utcnow
from issuer.models.oauth import OAuthToken
from issuer.platform.ratelimit import rate_limited
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
    response = error_response(error.status_code, error.code, error.message)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:  # the nonce endpoint's rate limit
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(Oid4vciError)
def _refused(error: Oid4vciError) -> Response:
    return _oid4vci_error(error.status, error.error, error.description, error.headers)


@bp.get("/.well-known/openid-credential-issuer")
def openid_credential_issuer() -> ResponseReturnValue:
    return Response(json.dumps(oid4vci.credential_issuer_metadata()), mimetype="application/json")


class OfferForm(FlaskForm):
    tx_code = BooleanField("Protect the offer with a code I type into my wallet", default=True)
    create = SubmitField("Create a wallet offer")


class RevokeDeliveryForm(FlaskForm):
    reason = StringField("Reason")
    revoke = SubmitField("Revoke this wallet copy")


def _own_credential(credential_id: uuid.UUID) -> Credential | None:
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.therapist_id != current_user.id:
        return None
    return credential


@bp.route("/me/credentials/<uuid:credential_id>/wallet", methods=["GET", "POST"])
@login_required
def send_to_wallet(credential_id: uuid.UUID) -> ResponseReturnValue:
    """"Send to wallet": an OID4VCI offer for one of the signed-in therapist's own credentials, and the wallet
    copies delivered so far."""
    credential = _own_credential(credential_id)
    if credential is None:
        return error_response(404, "not_found", "No such credential of yours.")
    form = OfferForm()
    link = qr = tx_code = None
    expires_minutes = oauth.PRE_AUTHORIZED_CODE_SECONDS // 60
    deliverable = credential.revoked_at is None and credential.suspended_at is None
    if deliverable and form.validate_on_submit():
        _, document, tx_code = oid4vci.create_offer(db.session, credential, now=utcnow(),
                                                    with_tx_code=bool(form.tx_code.data))
        link = oid4vci.offer_link(document)
        qr = qr_svg_inline(link)
    elif request.method == "POST":
        return error_response(400, "bad_request", "The offer could not be created; go back and try again.")
    response = Response(render_template("oauth/wallet.html", form=form, credential=credential, link=link, qr=qr,
                                        tx_code=tx_code, expires_minutes=expires_minutes,
                                        deliveries=deliveries.of_award(db.session, credential),
                                        revoke_form=RevokeDeliveryForm()))
    response.headers["Cache-Control"] = "no-store"  # the offer holds a live pre-authorized code
    return response


@bp.post("/me/credentials/<uuid:credential_id>/wallet/<uuid:delivery_id>/revoke")
@login_required
def revoke_delivery(credential_id: uuid.UUID, delivery_id: uuid.UUID) -> ResponseReturnValue:
    """Revoke one wallet copy of the therapist's own credential (a lost or replaced wallet)."""
    credential = _own_credential(credential_id)
    delivery = db.session.get(WalletDelivery, delivery_id)
    if credential is None or delivery is None or delivery.credential_id != credential.id:
        return error_response(404, "not_found", "No such wallet copy of your credential.")
    form = RevokeDeliveryForm()
    if not form.validate_on_submit():
        return error_response(400, "csrf", "The form expired; go back and try again.")
    deliveries.revoke(db.session, delivery, reason=form.reason.data or "", actor=current_user._get_current_object())
    return redirect(url_for("oid4vci.send_to_wallet", credential_id=credential.id), code=303)


@bp.post("/oid4vci/nonce")
@rate_limited("oid4vci_nonce", "ISSUER_NONCE_RATE_LIMIT")
def nonce_endpoint() -> ResponseReturnValue:
    """OID4VCI 7: a fresh c_nonce for the wallet's key proof; no access token needed, never cached."""
    nonce = oid4vci.new_nonce(db.session, now=utcnow())
    response = Response(json.dumps({"c_nonce": nonce}), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oid4vci/credential")
def credential_endpoint() -> ResponseReturnValue:
    """OID4VCI 8: the award the access token reaches, bound to the key the wallet proved it holds."""
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
    issued = oid4vci.issue_credential(db.session, token_row, body, now=utcnow())
    response = Response(json.dumps(issued), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
