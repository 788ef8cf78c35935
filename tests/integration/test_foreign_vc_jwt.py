"""VC-JWTs made elsewhere, by the common JOSE libraries, for an issuer on our trust list whose DID document holds an
Ed25519 key: PyJWT (and jose, joserfc) write ``alg: "EdDSA"`` (RFC 8037) for it. They verify here, offline, from the
DID document given with the trust entry; a tampered token, an algorithm the key does not have, and ``alg: none`` do
not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from issuer.credentials.multikey import encode_ed25519_multikey, public_jwk
from issuer.credentials.vc_jwt import credential_claims

PARTNER = "did:web:partner.example"
MULTIKEY = f"{PARTNER}#key-1"
JSON_WEB_KEY = f"{PARTNER}#key-2"
RSA_KEY = f"{PARTNER}#rsa-1"


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture
def partner(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> dict[str, Any]:
    """A did:web partner on the trust list, its DID document (an Ed25519 key twice, as Multikey and as a JWK, and an
    RSA key) held here; and a credential of its own."""
    ed_key = ed25519.Ed25519PrivateKey.generate()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1",
                     "https://w3id.org/security/suites/jws-2020/v1"],
        "id": PARTNER,
        "verificationMethod": [
            {"id": MULTIKEY, "type": "Multikey", "controller": PARTNER,
             "publicKeyMultibase": encode_ed25519_multikey(ed_key.public_key())},
            {"id": JSON_WEB_KEY, "type": "JsonWebKey", "controller": PARTNER,
             "publicKeyJwk": public_jwk(ed_key.public_key())},
            {"id": RSA_KEY, "type": "JsonWebKey", "controller": PARTNER,
             "publicKeyJwk": public_jwk(rsa_key.public_key())},
        ],
        "assertionMethod": [MULTIKEY, JSON_WEB_KEY, RSA_KEY],
    }
    path = tmp_path / "did.json"
    path.write_text(json.dumps(document))
    added = runner.invoke(args=["trust", "add", PARTNER, "--name", "Partner Clinic", "--did-document", str(path)])
    assert added.exit_code == 0, added.output
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:5a0d7c1e-2222-4b3c-9d4e-3b6c7d8e9f0a", "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": PARTNER, "type": ["Profile"], "name": "Partner Clinic"},
        "name": "Partner award", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:someone", "type": ["AchievementSubject"], "achievement": {
            "id": "https://partner.example/achievements/1", "type": ["Achievement"], "name": "Partner award",
            "description": "Awarded by the partner.", "criteria": {"narrative": "Shown in practice."}}},
    }
    return {"ed_key": ed_key, "rsa_key": rsa_key, "credential": credential}


def pyjwt_token(credential: dict[str, Any], key: Any, kid: str) -> str:
    """The VC-JWT as another issuer's software writes it with PyJWT: OB 3.0 claims, alg EdDSA."""
    payload = {**credential, **credential_claims(credential)}
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})


def verify(client: FlaskClient, token: str) -> dict[str, Any]:
    response = client.post("/api/v1/verify", data=token, content_type="application/jwt")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def check(answer: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in answer["checks"] if c["check"] == name)
    return found


@pytest.mark.parametrize("kid", [MULTIKEY, JSON_WEB_KEY])
def test_an_eddsa_vc_jwt_from_pyjwt_by_a_trusted_issuer_verifies(
        client: FlaskClient, partner: dict[str, Any], kid: str) -> None:
    token = pyjwt_token(partner["credential"], partner["ed_key"], kid)
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    # PyJWT itself reads it back with the public key (the token is what the library means by EdDSA).
    jwt.decode(token, partner["ed_key"].public_key(), algorithms=["EdDSA"], options={"require": ["iss", "sub", "jti",
                                                                                                 "nbf"]})
    answer = verify(client, token)
    assert answer["verified"] is True, answer
    assert answer["errors"] == []
    assert check(answer, "proof")["message"] == f"JWS (EdDSA) verifies with {kid}"
    assert check(answer, "issuer")["message"].endswith("Partner Clinic")


def test_a_tampered_eddsa_vc_jwt_does_not_verify(client: FlaskClient, partner: dict[str, Any]) -> None:
    token = pyjwt_token(partner["credential"], partner["ed_key"], MULTIKEY)
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["name"] = "A much grander award"
    answer = verify(client, f"{header}.{_b64(claims)}.{signature}")
    assert answer["verified"] is False
    assert check(answer, "proof")["ok"] is False
    assert any("does not verify" in error for error in answer["errors"]), answer["errors"]
    # signed by someone else's Ed25519 key under the partner's kid
    answer = verify(client, pyjwt_token(partner["credential"], ed25519.Ed25519PrivateKey.generate(), MULTIKEY))
    assert answer["verified"] is False
    assert any("does not verify" in error for error in answer["errors"]), answer["errors"]


def test_algorithm_confusion_does_not_verify(client: FlaskClient, partner: dict[str, Any]) -> None:
    credential = partner["credential"]
    payload = {**credential, **credential_claims(credential)}

    def ed_signed(header: dict[str, Any]) -> str:
        signing_input = f"{_b64(header)}.{_b64(payload)}"
        signature = base64.urlsafe_b64encode(partner["ed_key"].sign(signing_input.encode())).rstrip(b"=").decode()
        return f"{signing_input}.{signature}"

    def mac_signed(header: dict[str, Any]) -> str:
        """PyJWT refuses to use a JWK as an HMAC secret, so the attacker writes it by hand."""
        secret = json.dumps(public_jwk(partner["ed_key"].public_key())).encode()
        signing_input = f"{_b64(header)}.{_b64(payload)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    rs256 = jwt.encode(payload, partner["rsa_key"], algorithm="RS256", headers={"kid": RSA_KEY, "typ": "JWT"})
    confused = {
        # an RS256 header naming the Ed25519 key
        "RS256 with the Ed25519 key": (ed_signed({"alg": "RS256", "kid": MULTIKEY, "typ": "JWT"}), "needs an RSA key"),
        # EdDSA naming the RSA key, signed by either key
        "EdDSA with the RSA key": (ed_signed({"alg": "EdDSA", "kid": RSA_KEY, "typ": "JWT"}), "needs an Ed25519 key"),
        "an RS256 token relabelled EdDSA": (_b64({"alg": "EdDSA", "kid": RSA_KEY, "typ": "JWT"}) + "."
                                            + rs256.split(".", 1)[1], "needs an Ed25519 key"),
        # a MAC keyed with the public key's JWK, as in the classic confusion attack
        "HS256 keyed with the public JWK": (mac_signed({"alg": "HS256", "kid": MULTIKEY, "typ": "JWT"}), "HMAC"),
        "ES256 naming the Ed25519 key": (ed_signed({"alg": "ES256", "kid": MULTIKEY, "typ": "JWT"}), "not accepted"),
    }
    for why, (token, words) in confused.items():
        answer = verify(client, token)
        assert answer["verified"] is False, why
        assert any(words in error for error in answer["errors"]), (why, answer["errors"])


@pytest.mark.parametrize("alg", ["none", "None"])
def test_alg_none_does_not_verify(client: FlaskClient, partner: dict[str, Any], alg: str) -> None:
    credential = partner["credential"]
    payload = {**credential, **credential_claims(credential)}
    answer = verify(client, f"{_b64({'alg': alg, 'kid': MULTIKEY, 'typ': 'JWT'})}.{_b64(payload)}.")
    assert answer["verified"] is False
    assert any("alg none" in error for error in answer["errors"]), answer["errors"]
