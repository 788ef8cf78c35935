"""OpenID for Verifiable Credential Issuance 1.0 (final): issuer metadata, offers with a pre-authorized code (and an
optional transaction code), the Nonce Endpoint, and the Credential Endpoint, which hands a wallet that proved its
key a credential bound to that key (``issuer.issuance.deliveries``).

One configuration is offered, ``ldp_vc`` (Appendix A.1.2): the award's OB 3.0 credential secured with a Data
Integrity proof (eddsa-rdfc-2022), bound to the holder. ``jwt_vc_json`` is not offered: that profile is a
VCDM 1.1 credential in a ``vc`` claim, and this service's VC-JWTs are VCDM 2.0 credentials as the JWT payload
itself (OB 3.0 section 8.2); see ``docs/wallets.md``.

The grants are the authorization server's (``issuer.protocols.oauth``); the views are ``issuer.web.oid4vci``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from flask import current_app, url_for
from sqlalchemy import delete

from issuer.credentials import key_proof
from issuer.credentials.credential import CREDENTIAL_CONTEXT
from issuer.identity.profile import base_url
from issuer.issuance import deliveries
from issuer.models import Credential, WalletNonce
from issuer.models.oauth import CredentialOffer, OAuthToken, secret_hash
from issuer.platform.database import SessionLike
from issuer.protocols import oauth

OB_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
#: OID4VCI credential_configurations_supported key of the one configuration offered.
CONFIG_LDP_VC = oauth.CONFIG_LDP_VC
#: How long a c_nonce stays usable, and how old (or how far ahead, clocks differ) a key proof's iat may be.
NONCE_SECONDS = 300
PROOF_MAX_AGE = dt.timedelta(minutes=5)
PROOF_MAX_SKEW = dt.timedelta(seconds=60)
#: The transaction code: this many digits, shown on the therapist's page next to the QR code.
TX_CODE_DIGITS = 6
TX_CODE_DESCRIPTION = "Enter the 6-digit code shown next to the QR code on your credential's wallet page."


class Oid4vciError(Exception):
    """A credential request refused (OID4VCI 8.3.1): its HTTP status, error code and description."""

    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def credential_issuer_metadata() -> dict[str, Any]:
    """OID4VCI 12.2: Credential Issuer Metadata. The issuer is its own authorization server (no
    ``authorization_servers``)."""
    base = base_url()
    name = str(current_app.config["ISSUER_NAME"])
    logo = {"uri": base + "/issuer/logo.png", "alt_text": f"{name} logo"}
    return {
        "credential_issuer": base,
        "credential_endpoint": base + url_for("oid4vci.credential_endpoint"),
        "nonce_endpoint": base + url_for("oid4vci.nonce_endpoint"),
        "display": [{"name": name, "locale": "en", "logo": logo}],
        "credential_configurations_supported": {
            CONFIG_LDP_VC: {
                "format": "ldp_vc",
                "scope": oauth.SCOPE_OID4VCI,
                "credential_definition": {"@context": list(CREDENTIAL_CONTEXT), "type": OB_TYPE},
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "cryptographic_binding_methods_supported": ["did:key", "did:jwk", "jwk"],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": list(key_proof.ALGORITHMS)},
                },
                "credential_metadata": {
                    "display": [{
                        "name": "Open Badge",
                        "locale": "en",
                        "description": "A competency level of the music therapist framework, as an Open Badges 3.0 "
                                       "credential bound to your wallet's key.",
                        "logo": logo,
                    }],
                },
            },
        },
    }


def new_tx_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(TX_CODE_DIGITS))


def create_offer(session: SessionLike, credential: Credential, *, now: dt.datetime,
                 with_tx_code: bool = False) -> tuple[CredentialOffer, dict[str, Any], str | None]:
    """A credential offer (OID4VCI 4.1.1) with a fresh single-use pre-authorized code, and when asked a transaction
    code for the therapist to type into the wallet (returned, shown once, stored hashed). Flushes."""
    code = oauth.new_secret()
    tx_code = new_tx_code() if with_tx_code else None
    offer = CredentialOffer(credential_id=credential.id, user_id=credential.therapist_id,
                            pre_authorized_code_hash=secret_hash(code),
                            tx_code_hash=secret_hash(tx_code) if tx_code else None, tx_code_attempts=0,
                            created_at=now,
                            expires_at=now + dt.timedelta(seconds=oauth.PRE_AUTHORIZED_CODE_SECONDS))
    session.add(offer)
    session.flush()
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {"input_mode": "numeric", "length": TX_CODE_DIGITS, "description": TX_CODE_DESCRIPTION}
    document = {
        "credential_issuer": base_url(),
        "credential_configuration_ids": [CONFIG_LDP_VC],
        "grants": {oauth.PRE_AUTHORIZED_GRANT_TYPE: grant},
    }
    return offer, document, tx_code


def offer_link(document: dict[str, Any]) -> str:
    """The offer by value, as a wallet reads it from a link or a QR code."""
    return "openid-credential-offer://?credential_offer=" + quote(json.dumps(document, separators=(",", ":")), safe="")


# --- nonces ----------------------------------------------------------------------------------------------------
def new_nonce(session: SessionLike, *, now: dt.datetime) -> str:
    """A fresh, unpredictable ``c_nonce`` (OID4VCI 7.2), stored hashed; expired ones are cleared. Flushes."""
    session.execute(delete(WalletNonce).where(WalletNonce.expires_at <= now))
    nonce = secrets.token_urlsafe(24)
    session.add(WalletNonce(nonce_hash=secret_hash(nonce), created_at=now,
                            expires_at=now + dt.timedelta(seconds=NONCE_SECONDS)))
    session.flush()
    return nonce


def consume_nonce(session: SessionLike, nonce: str, *, now: dt.datetime) -> bool:
    """Use ``nonce`` up: True if it was handed out, unexpired and unused. One DELETE decides, so of two requests
    with the same nonce, one wins and the other (waiting on the row, then finding it gone) loses."""
    result = session.execute(delete(WalletNonce).where(WalletNonce.nonce_hash == secret_hash(nonce),
                                                       WalletNonce.expires_at > now))
    return bool(getattr(result, "rowcount", 0) == 1)


# --- the credential endpoint -----------------------------------------------------------------------------------
def _award_for(session: SessionLike, token: OAuthToken, body: dict[str, Any]) -> Credential:
    """The award a credential request names, among those the token may collect (never trusting the client's id)."""
    identifier = body.get("credential_identifier")
    configuration = body.get("credential_configuration_id")
    if identifier is not None and configuration is not None:
        raise Oid4vciError(400, "invalid_credential_request",
                           "Send credential_identifier or credential_configuration_id, not both.")
    allowed = oauth.credential_identifiers(token)
    if identifier is not None:
        if not isinstance(identifier, str) or identifier not in allowed:
            raise Oid4vciError(400, "unknown_credential_identifier",
                               "This credential_identifier was not issued with this access token.")
        chosen = identifier
    elif configuration is not None:
        if configuration != CONFIG_LDP_VC:
            raise Oid4vciError(400, "unknown_credential_configuration",
                               f"Ask for the offered configuration, {CONFIG_LDP_VC}.")
        if token.offer is not None:
            chosen = str(token.offer.credential_id)
        elif len(allowed) == 1:
            chosen = allowed[0]
        elif not allowed:
            raise Oid4vciError(400, "credential_request_denied",
                               "There is no current credential to collect with this access token.")
        else:
            raise Oid4vciError(400, "invalid_credential_request",
                               "This access token covers several credentials: name one with credential_identifier "
                               "(from authorization_details in the token response).")
    else:
        raise Oid4vciError(400, "invalid_credential_request",
                           "Name the credential: credential_identifier or credential_configuration_id.")
    try:
        award = session.get(Credential, uuid.UUID(chosen))
    except ValueError:
        award = None
    if award is None or award.therapist_id != token.user_id:
        raise Oid4vciError(400, "unknown_credential_identifier", "No such credential for this access token.")
    return award


def _proof(body: dict[str, Any]) -> str:
    proofs = body.get("proofs")
    if proofs is None:
        raise Oid4vciError(400, "invalid_proof", "proofs is required: a jwt key proof of the key the credential is "
                                                 "to be bound to (with a c_nonce from the nonce endpoint).")
    if not isinstance(proofs, dict) or len(proofs) != 1:
        raise Oid4vciError(400, "invalid_proof", "proofs must be an object with exactly one proof type.")
    if "jwt" not in proofs:
        raise Oid4vciError(400, "invalid_proof", "Only the jwt proof type is supported.")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts:
        raise Oid4vciError(400, "invalid_proof", "proofs.jwt must be a non-empty array of JWTs.")
    if len(jwts) > 1:
        raise Oid4vciError(400, "invalid_proof", "One key proof per request: batch issuance is not offered.")
    token: Any = jwts[0]
    return str(token) if isinstance(token, str) else ""


def issue_credential(session: SessionLike, token: OAuthToken, body: Any, *, now: dt.datetime) -> dict[str, Any]:
    """OID4VCI 8: verify the key proof, use its nonce up, and deliver the award bound to the proven key.

    :raise Oid4vciError: the request, its proof or its nonce is refused, or the award cannot be delivered.
    """
    if not isinstance(body, dict):
        raise Oid4vciError(400, "invalid_credential_request", "The body must be a JSON object.")
    award = _award_for(session, token, body)
    proof_jwt = _proof(body)
    try:
        proven = key_proof.verify(proof_jwt, audience=base_url(), now=now, max_age=PROOF_MAX_AGE,
                                  max_skew=PROOF_MAX_SKEW,
                                  client_id=token.client.client_id if token.client is not None else None)
    except key_proof.ProofRejected as error:
        raise Oid4vciError(400, error.error, _ascii(str(error))) from None
    if not consume_nonce(session, proven.nonce, now=now):
        raise Oid4vciError(400, "invalid_nonce", "The nonce is unknown, expired or already used; get a new c_nonce "
                                                 "from the nonce endpoint and sign a new proof.")
    try:
        delivery = deliveries.deliver(session, award, holder_did=proven.holder_did, configuration_id=CONFIG_LDP_VC,
                                      token=token, now=now)
    except deliveries.NotDeliverable as error:
        raise Oid4vciError(400, "credential_request_denied", _ascii(str(error).capitalize() + ".")) from None
    return {"credentials": [{"credential": json.loads(delivery.document)}]}


def _ascii(text: str) -> str:
    """OID4VCI 8.3.1: an error_description holds printable ASCII without ``"`` and ``\\``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "'" if c == '"' else "?" for c in text)
