"""OpenID4VCI 1.0 (final), driven over HTTP only, as a wallet would follow the spec: credential offer (or the
wallet's own authorization request) → issuer metadata → authorization server metadata → token → nonce → key proof
→ credential bound to the wallet's key."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.credentials.credential import CREDENTIAL_CONTEXT
from issuer.credentials.multikey import did_key_from_public_key, did_key_verification_method
from issuer.extensions import db
from issuer.issuance import revocation
from issuer.models import Credential, User, WalletDelivery, WalletNonce
from issuer.verification import verifier
from tests.conftest import CSRF_PATTERN
from tests.integration.helpers import issue, wallet_did_jwk, wallet_jwk, wallet_key, wallet_proof

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
ISSUER = "http://127.0.0.1:5000"
CONFIG = "OpenBadgeCredential_ldp_vc"
SCOPE = "oid4vci:OpenBadgeCredential"
WALLET_REDIRECT = "http://127.0.0.1:7777/cb"


def path_of(url: str) -> str:
    """The test client talks to the app directly: keep the path (and query) of a public URL."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == ISSUER
    return parts.path + (f"?{parts.query}" if parts.query else "")


def offer_from_page(client: FlaskClient, credential_id: Any, *,
                    tx_code: bool = False) -> tuple[dict[str, Any], str | None]:
    """The therapist's "Send to wallet" page: create an offer, read the offer link (and the transaction code)."""
    url = f"/me/credentials/{credential_id}/wallet"
    page = client.get(url)
    assert page.status_code == 200
    token = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert token is not None
    data = {"csrf_token": token.group(1), "create": "x"}
    if tx_code:
        data["tx_code"] = "y"
    response = client.post(url, data=data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "<svg" in text
    link = html.unescape(text.split('id="credential-offer" href="', 1)[1].split('"', 1)[0])
    assert link.startswith("openid-credential-offer://?credential_offer=")
    offer: dict[str, Any] = json.loads(parse_qs(urlsplit(link).query)["credential_offer"][0])
    code = text.split('id="tx-code">', 1)[1].split("<", 1)[0] if 'id="tx-code"' in text else None
    return offer, code


def discover(wallet: FlaskClient, issuer_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    metadata = wallet.get(path_of(issuer_url) + "/.well-known/openid-credential-issuer").get_json()
    assert metadata["credential_issuer"] == issuer_url
    # No authorization_servers: the credential issuer is its own authorization server (OID4VCI 12.2.4).
    assert "authorization_servers" not in metadata
    as_metadata = wallet.get(path_of(issuer_url) + "/.well-known/oauth-authorization-server").get_json()
    return metadata, as_metadata


def nonce(wallet: FlaskClient, metadata: dict[str, Any]) -> str:
    response = wallet.post(path_of(metadata["nonce_endpoint"]))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    value: str = response.get_json()["c_nonce"]
    return value


def request_credential(wallet: FlaskClient, metadata: dict[str, Any], access_token: str,
                       body: dict[str, Any]) -> Any:
    return wallet.post(path_of(metadata["credential_endpoint"]), json=body,
                       headers={"Authorization": f"Bearer {access_token}"})


def pre_authorized_token(app: Flask, client: FlaskClient, auth: Any, credential_id: Any) -> tuple[
        FlaskClient, dict[str, Any], str]:
    """A wallet holding an access token from an offer on the therapist's page: (wallet, metadata, token)."""
    auth.login("ther@example.test")
    offer, _ = offer_from_page(client, credential_id)
    wallet = app.test_client()
    metadata, as_metadata = discover(wallet, offer["credential_issuer"])
    response = wallet.post(path_of(as_metadata["token_endpoint"]), data={
        "grant_type": PRE_AUTH, "pre-authorized_code": offer["grants"][PRE_AUTH]["pre-authorized_code"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return wallet, metadata, response.get_json()["access_token"]


def collect(wallet: FlaskClient, metadata: dict[str, Any], access_token: str, key: Any,
            **body: Any) -> dict[str, Any]:
    proof = wallet_proof(key, audience=metadata["credential_issuer"], nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": CONFIG, **body, "proofs": {"jwt": [proof]}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    credential: dict[str, Any] = response.get_json()["credentials"][0]["credential"]
    return credential


def verify(app: Flask, credential: dict[str, Any]) -> Any:
    with app.app_context():
        return verifier.verify_any(db.session, credential)


# --- metadata --------------------------------------------------------------------------------------------------
def test_metadata_follows_openid4vci_1_0_final(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    metadata, as_metadata = discover(client, ISSUER)
    assert metadata["nonce_endpoint"] == f"{ISSUER}/oid4vci/nonce"
    assert metadata["credential_endpoint"] == f"{ISSUER}/oid4vci/credential"
    configurations = metadata["credential_configurations_supported"]
    assert list(configurations) == [CONFIG]  # jwt_vc_json is VCDM 1.1 with a vc claim: not what is issued
    configuration = configurations[CONFIG]
    assert configuration["format"] == "ldp_vc"
    assert configuration["scope"] == SCOPE
    assert "display" not in configuration  # draft position; 1.0 puts it in credential_metadata
    assert configuration["credential_metadata"]["display"][0]["name"]
    assert configuration["cryptographic_binding_methods_supported"] == ["did:key", "did:jwk", "jwk"]
    algorithms = configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    assert "EdDSA" in algorithms
    assert "ES256" in algorithms
    assert not {"none", "HS256"} & set(algorithms)
    # The @context a wallet checks is exactly the issued credentials' (extensions.json included).
    with app.app_context():
        issued = json.loads(db.session.get_one(Credential, credential_id).document)
    assert configuration["credential_definition"]["@context"] == issued["@context"] == list(CREDENTIAL_CONTEXT)
    assert "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json" in issued["@context"]
    assert configuration["credential_definition"]["type"] == issued["type"]

    assert as_metadata["issuer"] == ISSUER
    assert as_metadata["authorization_details_types_supported"] == ["openid_credential"]
    assert PRE_AUTH in as_metadata["grant_types_supported"]
    assert "authorization_code" in as_metadata["grant_types_supported"]
    assert as_metadata["pre-authorized_grant_anonymous_access_supported"] is True
    assert SCOPE in as_metadata["scopes_supported"]
    assert as_metadata["code_challenge_methods_supported"] == ["S256"]


def test_nonce_endpoint_hands_out_fresh_unpredictable_nonces(app: Flask, client: FlaskClient) -> None:
    first = client.post("/oid4vci/nonce")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert first.mimetype == "application/json"
    seen = {client.post("/oid4vci/nonce").get_json()["c_nonce"] for _ in range(5)} | {first.get_json()["c_nonce"]}
    assert len(seen) == 6
    assert all(len(value) >= 22 for value in seen)
    with app.app_context():  # stored hashed: no nonce is in the database as given
        stored = set(db.session.scalars(select(WalletNonce.nonce_hash)))
    assert len(stored) == 6
    assert not seen & stored
    assert client.get("/oid4vci/nonce").status_code == 405


# --- the pre-authorized code flow ------------------------------------------------------------------------------
def test_pre_authorized_flow_with_tx_code_delivers_a_holder_bound_credential(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer, tx_code = offer_from_page(client, credential_id, tx_code=True)
    assert offer["credential_configuration_ids"] == [CONFIG]
    grant = offer["grants"][PRE_AUTH]
    assert grant["tx_code"] == {"input_mode": "numeric", "length": 6, "description": grant["tx_code"]["description"]}
    assert tx_code is not None
    assert len(tx_code) == 6
    assert tx_code.isdigit()

    wallet = app.test_client()  # another device: no session cookie
    metadata, as_metadata = discover(wallet, offer["credential_issuer"])
    token_url = path_of(as_metadata["token_endpoint"])
    response = wallet.post(token_url, data={"grant_type": PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"],
                                            "tx_code": tx_code})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_json()
    assert token["token_type"] == "Bearer"

    key = wallet_key()
    credential = collect(wallet, metadata, token["access_token"], key)
    holder = wallet_did_jwk(key)
    assert credential["credentialSubject"]["id"] == holder
    assert credential["id"].startswith("urn:uuid:")
    assert credential["id"] != f"{ISSUER}/credentials/{credential_id}"
    assert credential["@context"] == list(CREDENTIAL_CONTEXT)
    with app.app_context():
        award = json.loads(db.session.get_one(Credential, credential_id).document)
        delivery = db.session.scalars(select(WalletDelivery)).one()
        assert delivery.credential_id == credential_id
        assert delivery.holder_did == holder
        assert credential["id"] == f"urn:uuid:{delivery.id}"
    # the award's achievement, issuer and dates; its own status entry and proof
    assert credential["credentialSubject"]["achievement"] == award["credentialSubject"]["achievement"]
    assert credential["issuer"] == award["issuer"]
    assert credential["credentialStatus"]["statusListIndex"] != award["credentialStatus"]["statusListIndex"] or \
        credential["credentialStatus"]["statusListCredential"] != award["credentialStatus"]["statusListCredential"]
    assert credential["proof"] != award["proof"]
    result = verify(app, credential)
    assert result.verified, result.summary

    # The pre-authorized code works once.
    response = wallet.post(token_url, data={"grant_type": PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"],
                                            "tx_code": tx_code})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")


def test_tx_code_is_required_checked_and_limited(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer, tx_code = offer_from_page(client, credential_id, tx_code=True)
    assert tx_code is not None
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    wallet = app.test_client()
    missing = wallet.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code})
    assert (missing.status_code, missing.get_json()["error"]) == (400, "invalid_request")
    wrong = str((int(tx_code) + 1) % 1_000_000).zfill(6)
    for attempt in range(1, 6):
        response = wallet.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code,
                                                     "tx_code": wrong})
        assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")
        assert ("this offer is spent" in response.get_json()["error_description"]) == (attempt == 5)
    # five wrong codes spend the offer: the right one no longer works
    response = wallet.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code,
                                                 "tx_code": tx_code})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")


def test_an_offer_without_tx_code_refuses_one(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer, tx_code = offer_from_page(client, credential_id)
    assert tx_code is None
    assert "tx_code" not in offer["grants"][PRE_AUTH]
    response = app.test_client().post("/oauth/token", data={
        "grant_type": PRE_AUTH, "pre-authorized_code": offer["grants"][PRE_AUTH]["pre-authorized_code"],
        "tx_code": "123456"})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_request")


def test_authorization_details_at_the_token_endpoint_name_the_offered_credential(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer, _ = offer_from_page(client, credential_id)
    wallet = app.test_client()
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    for hostile in ("[" * 1500 + "]" * 1500, '[{"type": "openid_credential"}]', "[]"):
        refused = wallet.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code,
                                                    "authorization_details": hostile})
        assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_authorization_details")
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": CONFIG}])
    response = wallet.post("/oauth/token", data={
        "grant_type": PRE_AUTH, "pre-authorized_code": offer["grants"][PRE_AUTH]["pre-authorized_code"],
        "authorization_details": details})
    assert response.status_code == 200, response.get_data(as_text=True)
    token = response.get_json()
    assert token["authorization_details"] == [{"type": "openid_credential", "credential_configuration_id": CONFIG,
                                               "credential_identifiers": [str(credential_id)]}]
    metadata, _ = discover(wallet, ISSUER)
    key = wallet_key()
    proof = wallet_proof(key, audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, token["access_token"],
                                  {"credential_identifier": str(credential_id), "proofs": {"jwt": [proof]}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["credentials"][0]["credential"]["credentialSubject"]["id"] == wallet_did_jwk(key)


# --- the authorization code flow -------------------------------------------------------------------------------
def register_wallet(wallet: FlaskClient, as_metadata: dict[str, Any]) -> str:
    """A wallet registers as a public client (RFC 7591), as a native app would."""
    response = wallet.post(path_of(as_metadata["registration_endpoint"]), json={
        "client_name": "Test Wallet", "redirect_uris": [WALLET_REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "response_types": ["code"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    client_id: str = response.get_json()["client_id"]
    return client_id


def authorization_code_token(app: Flask, client: FlaskClient, auth: Any, **request: str) -> tuple[
        FlaskClient, dict[str, Any], dict[str, Any], str]:
    """Wallet-initiated issuance: the therapist signs in and consents in the browser (``client``); the wallet
    exchanges the code with PKCE. Returns (wallet, metadata, token response, consent page text)."""
    wallet = app.test_client()
    metadata, as_metadata = discover(wallet, ISSUER)
    client_id = register_wallet(wallet, as_metadata)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = path_of(as_metadata["authorization_endpoint"]) + "?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": WALLET_REDIRECT, "state": "s1",
        "code_challenge": challenge, "code_challenge_method": "S256", **request})
    auth.login("ther@example.test")
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    csrf = CSRF_PATTERN.search(text)
    assert csrf is not None
    response = client.post(url, data={"csrf_token": csrf.group(1), "approve": "x"})
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == WALLET_REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    response = wallet.post(path_of(as_metadata["token_endpoint"]), data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": WALLET_REDIRECT,
        "code_verifier": verifier, "client_id": client_id})
    assert response.status_code == 200, response.get_data(as_text=True)
    return wallet, metadata, response.get_json(), text


def test_authorization_code_flow_with_authorization_details(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    first = issue(app, people, level_index=0)
    second = issue(app, people, level_index=1)
    details = [{"type": "openid_credential", "credential_configuration_id": CONFIG}]
    wallet, metadata, token, consent = authorization_code_token(
        app, client, auth, authorization_details=json.dumps(details))
    assert SCOPE in consent  # the consent page says what the wallet asks for
    granted = token["authorization_details"]
    assert len(granted) == 1
    assert granted[0]["type"] == "openid_credential"
    assert granted[0]["credential_configuration_id"] == CONFIG
    assert sorted(granted[0]["credential_identifiers"]) == sorted([str(first), str(second)])

    key = wallet_key()
    delivered = {}
    for identifier in granted[0]["credential_identifiers"]:
        proof = wallet_proof(key, audience=ISSUER, nonce=nonce(wallet, metadata))
        response = request_credential(wallet, metadata, token["access_token"],
                                      {"credential_identifier": identifier, "proofs": {"jwt": [proof]}})
        assert response.status_code == 200, response.get_data(as_text=True)
        delivered[identifier] = response.get_json()["credentials"][0]["credential"]
    for identifier, credential in delivered.items():
        assert credential["credentialSubject"]["id"] == wallet_did_jwk(key)
        result = verify(app, credential)
        assert result.verified, result.summary
        with app.app_context():
            award = db.session.get_one(Credential, uuid.UUID(identifier))
            assert credential["name"] == json.loads(award.document)["name"]
    # Several credentials: credential_configuration_id alone cannot say which.
    proof = wallet_proof(key, audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, token["access_token"],
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_credential_request")
    # An identifier the token was not issued with (another's, or made up) is unknown.
    proof = wallet_proof(key, audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, token["access_token"],
                                  {"credential_identifier": str(uuid.uuid4()), "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "unknown_credential_identifier")


def test_authorization_code_flow_with_scope(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, token, _ = authorization_code_token(app, client, auth, scope=SCOPE)
    assert SCOPE in token["scope"].split()
    assert token["authorization_details"][0]["credential_identifiers"] == [str(credential_id)]
    key = wallet_key()
    credential = collect(wallet, metadata, token["access_token"], key)  # by configuration id: one credential
    assert credential["credentialSubject"]["id"] == wallet_did_jwk(key)
    result = verify(app, credential)
    assert result.verified, result.summary


def test_a_therapist_without_credentials_gets_a_token_that_collects_nothing(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    wallet, metadata, token, _ = authorization_code_token(app, client, auth, scope=SCOPE)
    assert "authorization_details" not in token  # credential_identifiers may not be empty
    proof = wallet_proof(wallet_key(), audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, token["access_token"],
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "credential_request_denied")


def test_unsupported_authorization_details_are_refused_to_the_wallet(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    issue(app, people)
    wallet = app.test_client()
    _, as_metadata = discover(wallet, ISSUER)
    client_id = register_wallet(wallet, as_metadata)
    auth.login("ther@example.test")
    duplicate = ('[{"type": "openid_credential", "type": "openid_credential", '
                 '"credential_configuration_id": "OpenBadgeCredential_ldp_vc"}]')
    hostile = ["[" * 1500 + "]" * 1500, duplicate, "[NaN]", "x" * 5000]
    for details in (*hostile, '[{"type": "payment_initiation"}]', ('[{"type": "openid_credential", '
                    '"credential_configuration_id": "OpenBadgeCredential_jwt_vc_json"}]'), "not json", "{}"):
        url = "/oauth/authorize?" + urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": WALLET_REDIRECT, "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
            "authorization_details": details})
        response = client.get(url)
        assert response.status_code == 302, (details, response.get_data(as_text=True))
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"] == ["invalid_authorization_details"]
        assert query["state"] == ["s"]


# --- key proofs ------------------------------------------------------------------------------------------------
def test_replayed_nonce_wrong_audience_and_stale_proof_are_refused(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    key = wallet_key()

    # A replayed nonce: the first use delivers, a second proof with the same nonce is refused.
    used = nonce(wallet, metadata)
    proof = wallet_proof(key, audience=ISSUER, nonce=used)
    body = {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}}
    assert request_credential(wallet, metadata, access_token, body).status_code == 200
    for replay in (proof, wallet_proof(key, audience=ISSUER, nonce=used)):
        response = request_credential(wallet, metadata, access_token,
                                      {"credential_configuration_id": CONFIG, "proofs": {"jwt": [replay]}})
        assert (response.status_code, response.get_json()["error"]) == (400, "invalid_nonce")
        assert response.headers["Cache-Control"] == "no-store"
    # A nonce this service never handed out.
    response = request_credential(wallet, metadata, access_token, {
        "credential_configuration_id": CONFIG, "proofs": {"jwt": [wallet_proof(key, audience=ISSUER,
                                                                                nonce="made-up")]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_nonce")

    fresh = nonce(wallet, metadata)
    refused = {
        "wrong audience": wallet_proof(key, audience="https://other-issuer.example", nonce=fresh),
        "stale": wallet_proof(key, audience=ISSUER, nonce=fresh, iat=int(time.time()) - 3600),
        "from the future": wallet_proof(key, audience=ISSUER, nonce=fresh, iat=int(time.time()) + 3600),
        "no nonce": wallet_proof(key, audience=ISSUER, nonce=None),
        "wrong typ": wallet_proof(key, audience=ISSUER, nonce=fresh, header={"typ": "JWT"}),
        "kid and jwk": wallet_proof(key, audience=ISSUER, nonce=fresh, header={"jwk": wallet_jwk(key)}),
        "another key's kid": wallet_proof(key, audience=ISSUER, nonce=fresh,
                                          header={"kid": wallet_did_jwk(wallet_key()) + "#0"}),
        "a did:web kid": wallet_proof(key, audience=ISSUER, nonce=fresh, header={"kid": "did:web:evil.example#k"}),
        "HS256": jwt.encode({"aud": ISSUER, "iat": int(time.time()), "nonce": fresh}, "secret" * 6,
                            algorithm="HS256", headers={"typ": "openid4vci-proof+jwt",
                                                        "kid": wallet_did_jwk(key) + "#0"}),
        "alg none": _unsigned({"typ": "openid4vci-proof+jwt", "alg": "none", "kid": wallet_did_jwk(key) + "#0"},
                              {"aud": ISSUER, "iat": int(time.time()), "nonce": fresh}),
        "not a JWT": "x" * 100,
        "oversized": "a." * 10_000 + "b",
    }
    for why, bad in refused.items():
        response = request_credential(wallet, metadata, access_token,
                                      {"credential_configuration_id": CONFIG, "proofs": {"jwt": [bad]}})
        assert response.status_code == 400, why
        assert response.get_json()["error"] == "invalid_proof", (why, response.get_json())
        assert response.get_json()["error_description"].isascii(), why
    # None of those used the nonce up: it still works with a good proof.
    response = request_credential(wallet, metadata, access_token, {
        "credential_configuration_id": CONFIG, "proofs": {"jwt": [wallet_proof(key, audience=ISSUER, nonce=fresh)]}})
    assert response.status_code == 200, response.get_data(as_text=True)


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.c2ln"


def test_a_request_without_proof_is_refused_as_the_spec_says(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    # proof_types_supported is advertised, so proofs MUST be present (OID4VCI 8.2)
    response = request_credential(wallet, metadata, access_token, {"credential_configuration_id": CONFIG})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_proof")
    proofs: Any
    for proofs in ({}, {"jwt": []}, {"di_vp": [{}]}, {"jwt": "x"}, [],
                   {"jwt": [wallet_proof(wallet_key(), audience=ISSUER, nonce=nonce(wallet, metadata))] * 2}):
        response = request_credential(wallet, metadata, access_token,
                                      {"credential_configuration_id": CONFIG, "proofs": proofs})
        assert (response.status_code, response.get_json()["error"]) == (400, "invalid_proof"), proofs
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WalletDelivery)) == 0


def test_a_bare_jwk_and_a_did_key_bind_their_dids(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    jwk_key, did_key = wallet_key(), wallet_key()
    headers: dict[str, tuple[dict[str, Any], Any, str]] = {
        "jwk": ({"kid": None, "jwk": wallet_jwk(jwk_key)}, jwk_key, wallet_did_jwk(jwk_key)),
        "did:key": ({"kid": did_key_verification_method(did_key.public_key())}, did_key,
                    did_key_from_public_key(did_key.public_key())),
    }
    for name, (header, key, expected) in headers.items():
        proof_header = {k: v for k, v in header.items() if v is not None}
        claims = {"aud": ISSUER, "iat": int(time.time()), "nonce": nonce(wallet, metadata)}
        proof = jwt.encode(claims, key, algorithm="EdDSA",
                           headers={"typ": "openid4vci-proof+jwt", **proof_header})
        if "kid" not in proof_header:  # PyJWT adds no kid of its own; make sure the header is as sent
            assert "kid" not in jwt.get_unverified_header(proof)
        response = request_credential(wallet, metadata, access_token,
                                      {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        credential = response.get_json()["credentials"][0]["credential"]
        assert credential["credentialSubject"]["id"] == expected, name
        result = verify(app, credential)
        assert result.verified, result.summary


def test_a_private_jwk_is_refused(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    key = wallet_key()
    private = {**wallet_jwk(key), "d": "AAAA"}
    proof = jwt.encode({"aud": ISSUER, "iat": int(time.time()), "nonce": nonce(wallet, metadata)}, key,
                       algorithm="EdDSA", headers={"typ": "openid4vci-proof+jwt", "jwk": private})
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_proof")
    assert "private" in response.get_json()["error_description"]


# --- deliveries and the award's status -------------------------------------------------------------------------
def _change_award(app: Flask, credential_id: uuid.UUID, admin_id: int, action: str, reason: str) -> None:
    """The administrator revokes, suspends or reinstates the award, in a transaction of its own."""
    with app.app_context():
        award = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, award, action=action, reason=reason, actor=db.session.get_one(User, admin_id))
        db.session.commit()


def test_revoking_an_award_revokes_every_delivery(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    delivered = [collect(wallet, metadata, access_token, wallet_key()) for _ in range(3)]
    assert len({c["id"] for c in delivered}) == 3
    for credential in delivered:
        assert verify(app, credential).verified

    _change_award(app, credential_id, people["admin"], "suspend", "Under review")
    for credential in delivered:
        result = verify(app, credential)
        assert not result.verified
        assert "suspended" in result.summary

    _change_award(app, credential_id, people["admin"], "unsuspend", "Cleared")
    for credential in delivered:
        assert verify(app, credential).verified

    _change_award(app, credential_id, people["admin"], "revoke", "Issued in error")
    with app.app_context():
        rows = db.session.scalars(select(WalletDelivery)).all()
        assert len(rows) == 3
        assert all(row.revoked_at is not None and row.revocation_reason == "Issued in error" for row in rows)
    for credential in delivered:
        result = verify(app, credential)
        assert not result.verified
        assert "revoked" in result.summary

    # and a revoked award is not delivered again
    proof = wallet_proof(wallet_key(), audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "credential_request_denied")


def test_the_therapist_revokes_one_wallet_copy_alone(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    lost, kept = (collect(wallet, metadata, access_token, wallet_key()) for _ in range(2))
    lost_id = lost["id"].removeprefix("urn:uuid:")
    page = client.get(f"/me/credentials/{credential_id}/wallet")
    text = page.get_data(as_text=True)
    assert "Wallet copies" in text
    csrf = CSRF_PATTERN.search(text)
    assert csrf is not None
    url = f"/me/credentials/{credential_id}/wallet/{lost_id}/revoke"
    assert client.post(url, data={"reason": "Lost phone"}).status_code == 400  # no CSRF token
    assert app.test_client().post(url, data={"reason": "x"}).status_code == 400  # signed out: no form, no change
    assert verify(app, lost).verified
    response = client.post(url, data={"csrf_token": csrf.group(1), "reason": "Lost phone", "revoke": "x"})
    assert response.status_code == 303
    assert not verify(app, lost).verified
    assert "revoked" in verify(app, lost).summary
    assert verify(app, kept).verified
    with app.app_context():
        assert db.session.get_one(Credential, credential_id).revoked_at is None
    again = client.post(url, data={"csrf_token": csrf.group(1), "reason": "Again", "revoke": "x"})
    assert again.status_code == 409


def test_a_delivery_is_on_record_only_as_signed(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    credential = collect(wallet, metadata, access_token, wallet_key())
    forged = json.loads(json.dumps(credential))
    forged["credentialSubject"]["id"] = wallet_did_jwk(wallet_key())  # someone else's wallet
    result = verify(app, forged)
    assert not result.verified


# --- old and foreign requests ----------------------------------------------------------------------------------
def test_credential_endpoint_refuses_missing_and_foreign_tokens(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    issue(app, people)
    wallet = app.test_client()
    response = wallet.post("/oid4vci/credential", json={"credential_configuration_id": CONFIG})
    assert response.status_code == 401
    response = wallet.post("/oid4vci/credential", json={"credential_configuration_id": CONFIG},
                           headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("configuration", ["mso_mdoc", "OpenBadgeCredential_jwt_vc_json"])
def test_unknown_configuration_is_refused(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int], configuration: str) -> None:
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    proof = wallet_proof(wallet_key(), audience=ISSUER, nonce=nonce(wallet, metadata))
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "unknown_credential_configuration")


def test_a_wrong_pre_authorized_code_gets_no_token(client: FlaskClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": "guess"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_only_the_owner_can_send_a_credential_to_a_wallet(
        app: Flask, client: FlaskClient, auth: Any, make_user: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    url = f"/me/credentials/{credential_id}/wallet"
    assert urlsplit(client.get(url).headers["Location"]).path == "/login"
    make_user("someone@example.test")
    auth.login("someone@example.test")
    assert client.get(url).status_code == 404


def test_offer_creation_needs_the_csrf_token(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    response = client.post(f"/me/credentials/{credential_id}/wallet", data={"create": "x"})
    assert response.status_code == 400
    assert "openid-credential-offer" not in response.get_data(as_text=True)


def test_offer_link_is_url_encoded_json(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    page = client.get(f"/me/credentials/{credential_id}/wallet").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    text = client.post(f"/me/credentials/{credential_id}/wallet", data={"csrf_token": token}).get_data(as_text=True)
    link = html.unescape(text.split('id="credential-offer" href="', 1)[1].split('"', 1)[0])
    encoded = link.split("credential_offer=", 1)[1]
    assert "{" not in encoded
    assert " " not in encoded
    assert json.loads(unquote(encoded))["credential_issuer"] == ISSUER


# --- CORS ------------------------------------------------------------------------------------------------------
def test_cors_where_browser_wallets_need_it(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    origin = {"Origin": "https://wallet.example"}
    for path in (f"/credentials/{credential_id}.json", "/.well-known/openid-credential-issuer",
                 "/.well-known/oauth-authorization-server"):
        response = client.get(path, headers=origin)
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "Access-Control-Allow-Credentials" not in response.headers
    for path in ("/oauth/token", "/oid4vci/nonce", "/oid4vci/credential"):
        preflight = client.options(path, headers={**origin, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200, path
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "dpop"} <= allowed
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    # errors are readable too: a browser wallet must see why its token was refused
    refused = client.post("/oid4vci/credential", json={}, headers=origin)
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]
    assert client.post("/oid4vci/nonce", headers=origin).headers["Access-Control-Allow-Origin"] == "*"


def test_no_cors_anywhere_else(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    origin = {"Origin": "https://evil.example"}
    anonymous = ["/", "/login", f"/credentials/{credential_id}", f"/credentials/{credential_id}.jwt",
                 f"/credentials/{credential_id}.png", "/verify", "/oauth/authorize", "/api/v1/verify"]
    for path in anonymous:
        response = client.get(path, headers=origin)
        assert "Access-Control-Allow-Origin" not in response.headers, path
        preflight = client.options(path, headers={**origin, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in preflight.headers, path
    auth.login("admin@example.test")
    for path in ("/admin", "/api/v1/therapists", f"/me/credentials/{credential_id}/wallet", "/admin/users"):
        response = client.get(path, headers=origin)
        assert "Access-Control-Allow-Origin" not in response.headers, path
    response = client.post("/oauth/register", json={}, headers=origin)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_expired_nonce_is_refused_and_cleared(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    import datetime as dt

    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    old = nonce(wallet, metadata)
    with app.app_context():
        for row in db.session.scalars(select(WalletNonce)):
            row.expires_at = row.created_at - dt.timedelta(seconds=1)
        db.session.commit()
    proof = wallet_proof(wallet_key(), audience=ISSUER, nonce=old)
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_nonce")
    nonce(wallet, metadata)  # making a new one clears the expired ones
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WalletNonce)) == 1


def test_the_nonce_endpoint_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    app.config["ISSUER_NONCE_RATE_LIMIT"] = "3/minute"
    assert [client.post("/oid4vci/nonce").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.post("/oid4vci/nonce")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WalletNonce)) == 3


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed_proof(key: Any, header: dict[str, Any], claims: Any) -> str:
    """A key proof signed over exactly these segments (PyJWT refuses to write some of the hostile ones)."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    return f"{signing_input}.{_segment(key.sign(signing_input.encode()))}"


def test_hostile_proofs_are_a_clean_invalid_proof_and_deliver_nothing(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    """The attacker's side of the credential endpoint: non-ASCII anywhere, junk a lenient base64 decoder would
    skip, huge and fractional iat, nested JSON, a megabyte of token. Each is a 400 invalid_proof (OID4VCI 8.3.1),
    with a printable ASCII description, and none uses the nonce up or records a delivery."""
    credential_id = issue(app, people)
    wallet, metadata, access_token = pre_authorized_token(app, client, auth, credential_id)
    key = wallet_key()
    fresh = nonce(wallet, metadata)
    good = wallet_proof(key, audience=ISSUER, nonce=fresh)
    head, payload, signature = good.split(".")
    did = wallet_did_jwk(key)
    header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": did + "#0"}
    now = int(time.time())
    claims = {"aud": ISSUER, "iat": now, "nonce": fresh}
    hostile: dict[str, Any] = {
        "non-ASCII in the payload segment": f"{head}.{payload}é.{signature}",
        "non-ASCII in the header segment": f"{head}ü.{payload}.{signature}",
        "an emoji for the signature": f"{head}.{payload}.\U0001f600",
        "a NUL in the payload segment": f"{head}.{payload}\x00.{signature}",
        "junk a lenient base64 decoder skips": f"{head}.{payload[:8]}!!!!{payload[8:]}.{signature}",
        "a did:jwk kid with NULs inside": _signed_proof(key, {**header, "kid": did[:20] + "\x00" * 4 + did[20:]},
                                                        claims),
        "a did:jwk kid with a newline inside": _signed_proof(key, {**header, "kid": did[:20] + "\n" * 4 + did[20:]},
                                                             claims),
        "a did:key kid in Cyrillic": _signed_proof(key, {**header, "kid": "did:key:z\u041c\u043a"}, claims),
        "an alg of 5000 characters": _signed_proof(key, {**header, "alg": "É" * 5000}, claims),
        "a nested kid": _signed_proof(key, {**header, "kid": {"a": [{"b": [{"c": [1]}]}]}}, claims),
        "a jwk nested past the limit": _signed_proof(key, {"typ": "openid4vci-proof+jwt", "alg": "EdDSA",
                                                           "jwk": json.loads('{"a":' * 9 + "1" + "}" * 9)}, claims),
        "iat of 99 digits": _signed_proof(key, header, {**claims, "iat": 10**98}),
        "iat of 101 digits": _signed_proof(key, header, {**claims, "iat": 10**100}),
        "a negative iat of 99 digits": _signed_proof(key, header, {**claims, "iat": -(10**98)}),
        "a fractional iat": _signed_proof(key, header, {**claims, "iat": now + 0.5}),
        "a float iat": _signed_proof(key, header, {**claims, "iat": float(now)}),
        "an iat past float range": _signed_proof(key, header, b'{"aud": "%s", "iat": 1e400, "nonce": "%s"}'
                                                 % (ISSUER.encode(), fresh.encode())),
        "a nested nonce": _signed_proof(key, header, {**claims, "nonce": {"n": [fresh]}}),
        "claims nested 20 deep": _signed_proof(key, header, json.loads("[" * 20 + "]" * 20)),
        "a lone surrogate in the nonce": _signed_proof(key, header, b'{"aud": "%s", "iat": %d, "nonce": "\\ud800"}'
                                                       % (ISSUER.encode(), now)),
        "a megabyte of token": f"{head}.{payload}{'A' * 1_000_000}.{signature}",
        "900 kB of escaped non-ASCII": "é" * 150_000,
        "a number": 10**50,
        "an object": {"jwt": good},
        "nested arrays": json.loads("[" * 40 + "]" * 40),
    }
    for why, bad in hostile.items():
        response = request_credential(wallet, metadata, access_token,
                                      {"credential_configuration_id": CONFIG, "proofs": {"jwt": [bad]}})
        assert response.status_code == 400, (why, response.get_data(as_text=True)[:300])
        answer = response.get_json()
        assert answer["error"] == "invalid_proof", (why, answer)
        assert answer["error_description"].isascii(), why
        assert answer["error_description"].isprintable(), why
        assert len(answer["error_description"]) < 400, why
        assert response.headers["Cache-Control"] == "no-store", why
    # Raw UTF-8 bodies: a megabyte of unescaped non-ASCII in the proof reaches the proof and is refused there; a
    # body past the JSON limit is refused whole (413) and one nested past the parser's depth is a 400, both in the
    # OID4VCI error shape. None is a 500.
    unescaped = json.dumps({"credential_configuration_id": CONFIG, "proofs": {"jwt": ["é" * 500_000]}},
                           ensure_ascii=False)
    huge = json.dumps({"credential_configuration_id": CONFIG, "proofs": {"jwt": ["a" * 1_100_000]}})
    deep = json.dumps({"credential_configuration_id": CONFIG, "proofs": {"jwt": ["NESTED"]}}).replace(
        '"NESTED"', "[" * 100 + "]" * 100)
    for body, status, error in ((unescaped, 400, "invalid_proof"), (huge, 413, "invalid_credential_request"),
                                (deep, 400, "invalid_credential_request")):
        response = wallet.post(path_of(metadata["credential_endpoint"]), data=body.encode(),
                               headers={"Authorization": f"Bearer {access_token}",
                                        "Content-Type": "application/json"})
        assert (response.status_code, response.get_json()["error"]) == (status, error), response.get_data()[:300]
        assert response.get_json()["error_description"].isascii()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WalletDelivery)) == 0
    # None of them used the nonce up: the wallet's honest proof still collects the credential, bound to its DID.
    credential = collect_with(wallet, metadata, access_token, good)
    assert credential["credentialSubject"]["id"] == did


def collect_with(wallet: FlaskClient, metadata: dict[str, Any], access_token: str, proof: str) -> dict[str, Any]:
    response = request_credential(wallet, metadata, access_token,
                                  {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
    assert response.status_code == 200, response.get_data(as_text=True)
    credential: dict[str, Any] = response.get_json()["credentials"][0]["credential"]
    return credential
