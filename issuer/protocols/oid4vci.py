"""OpenID for Verifiable Credential Issuance 1.0: issuer metadata, offers with a pre-authorized code, and the
credential a wallet collects with the access token of an offer.

The grant itself is the authorization server's (``issuer.protocols.oauth``); the views are ``issuer.web.oid4vci``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from flask import current_app, url_for

from issuer.identity.profile import base_url
from issuer.models import Credential
from issuer.models.oauth import CredentialOffer, OAuthToken, secret_hash
from issuer.platform.database import SessionLike
from issuer.protocols import oauth

OB_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
#: OID4VCI credential_configurations_supported keys
CONFIG_LDP_VC = "OpenBadgeCredential_ldp_vc"
CONFIG_JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"


class Oid4vciError(Exception):
    """A credential request refused (OID4VCI 8.3.1): its HTTP status, error code and description."""

    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def credential_issuer_metadata() -> dict[str, Any]:
    """OID4VCI 12.2: Credential Issuer Metadata. Credentials are issued already: not bound to a wallet key."""
    base = base_url()
    display = [{"name": str(current_app.config["ISSUER_NAME"]), "locale": "en",
                "logo": {"uri": base + "/issuer/logo.png"}}]
    return {
        "credential_issuer": base,
        "credential_endpoint": base + url_for("oid4vci.credential_endpoint"),
        "display": display,
        "credential_configurations_supported": {
            CONFIG_LDP_VC: {
                "format": "ldp_vc",
                "credential_definition": {"@context": OB_CONTEXT, "type": OB_TYPE},
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "display": [{"name": "Open Badge (Data Integrity)", "locale": "en"}],
            },
            CONFIG_JWT_VC_JSON: {
                "format": "jwt_vc_json",
                "credential_definition": {"type": OB_TYPE},
                "credential_signing_alg_values_supported": ["RS256"],
                "display": [{"name": "Open Badge (VC-JWT)", "locale": "en"}],
            },
        },
    }


def create_offer(session: SessionLike, credential: Credential, *,
                 now: dt.datetime) -> tuple[CredentialOffer, dict[str, Any]]:
    """A credential offer (OID4VCI 4.1.1) with a fresh single-use pre-authorized code. Flushes."""
    code = oauth.new_secret()
    offer = CredentialOffer(credential_id=credential.id, user_id=credential.therapist_id,
                            pre_authorized_code_hash=secret_hash(code), created_at=now,
                            expires_at=now + dt.timedelta(seconds=oauth.PRE_AUTHORIZED_CODE_SECONDS))
    session.add(offer)
    session.flush()
    document = {
        "credential_issuer": base_url(),
        "credential_configuration_ids": [CONFIG_LDP_VC, CONFIG_JWT_VC_JSON],
        "grants": {oauth.PRE_AUTHORIZED_GRANT_TYPE: {"pre-authorized_code": code}},
    }
    return offer, document


def offer_link(document: dict[str, Any]) -> str:
    """The offer by value, as a wallet reads it from a link or a QR code."""
    return "openid-credential-offer://?credential_offer=" + quote(json.dumps(document, separators=(",", ":")), safe="")


def offered_credential(token: OAuthToken, body: Any) -> Any:
    """OID4VCI 8: the stored, signed credential of the offer ``token`` came from, in the configuration asked for.

    :raise Oid4vciError: the token is not an offer's, the request is malformed, or the credential is revoked.
    """
    if token.offer is None:
        raise Oid4vciError(403, "insufficient_scope", "This token was not issued for a credential offer.")
    if not isinstance(body, dict):
        raise Oid4vciError(400, "invalid_credential_request", "The body must be a JSON object.")
    configuration = body.get("credential_configuration_id")
    if configuration is None and body.get("format") in ("ldp_vc", "jwt_vc_json"):  # draft 13 requests
        configuration = CONFIG_LDP_VC if body["format"] == "ldp_vc" else CONFIG_JWT_VC_JSON
    if configuration not in (CONFIG_LDP_VC, CONFIG_JWT_VC_JSON):
        raise Oid4vciError(400, "unknown_credential_configuration", "Ask for one of the offered configurations.")
    credential = token.offer.credential
    if credential.revoked_at is not None:
        raise Oid4vciError(400, "credential_request_denied", "This credential has been revoked.")
    return json.loads(credential.document) if configuration == CONFIG_LDP_VC else credential.jwt
