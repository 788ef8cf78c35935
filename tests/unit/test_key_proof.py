"""OpenID4VCI ``jwt`` key proofs: keys resolved offline, signatures, claims (issuer.credentials.key_proof)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from issuer.credentials import key_proof
from issuer.credentials.multikey import did_key_verification_method

AUD = "https://issuer.example"
NOW = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)


def check(token: str, client_id: str | None = None) -> key_proof.KeyProof:
    return key_proof.verify(token, audience=AUD, now=NOW, max_age=dt.timedelta(minutes=5),
                            max_skew=dt.timedelta(seconds=60), client_id=client_id)


def claims(**extra: object) -> dict[str, object]:
    return {"aud": AUD, "iat": int(NOW.timestamp()), "nonce": "n-1", **extra}


def es256_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()  # noqa: E731
    return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y)}


def test_es256_with_a_jwk_header_binds_its_did_jwk() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), key, algorithm="ES256",
                       headers={"typ": "openid4vci-proof+jwt", "jwk": es256_jwk(key)})
    proven = check(token)
    assert proven.nonce == "n-1"
    assert proven.holder_did.startswith("did:jwk:")
    encoded = proven.holder_did.removeprefix("did:jwk:")
    jwk = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert jwk == es256_jwk(key)
    # the same key named by its did:jwk DID URL gives the same holder
    again = jwt.encode(claims(), key, algorithm="ES256",
                       headers={"typ": "openid4vci-proof+jwt", "kid": proven.holder_did + "#0"})
    assert check(again).holder_did == proven.holder_did


def test_ed25519_did_key_and_the_rfc_9864_alg_name() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    kid = did_key_verification_method(key.public_key())
    token = jwt.encode(claims(), key, algorithm="EdDSA", headers={"typ": "openid4vci-proof+jwt", "kid": kid})
    assert check(token).holder_did == kid.split("#")[0]
    _header, payload, signature = token.split(".")
    renamed = base64.urlsafe_b64encode(json.dumps(
        {"typ": "openid4vci-proof+jwt", "alg": "Ed25519", "kid": kid}).encode()).rstrip(b"=").decode()
    signing_input = f"{renamed}.{payload}".encode()
    resigned = base64.urlsafe_b64encode(key.sign(signing_input)).rstrip(b"=").decode()
    assert check(f"{renamed}.{payload}.{resigned}").nonce == "n-1"
    # a signature over another header does not carry over
    with pytest.raises(key_proof.ProofRejected, match="does not verify"):
        check(f"{renamed}.{payload}.{signature}")


@pytest.mark.parametrize(("change", "message"), [
    ({"iat": int(NOW.timestamp()) - 301}, "stale"),
    ({"iat": int(NOW.timestamp()) + 61}, "future"),
    ({"iat": 10**30}, "future"),
    ({"iat": "now"}, "iat is required"),
    ({"iat": True}, "iat is required"),
    ({"aud": [AUD]}, "aud must be"),
    ({"nonce": 7}, "nonce is required"),
    ({"iss": "someone-else"}, "iss must be"),
])
def test_claims_are_checked(change: dict[str, object], message: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    kid = did_key_verification_method(key.public_key())
    token = jwt.encode(claims(**change), key, algorithm="EdDSA", headers={"typ": "openid4vci-proof+jwt", "kid": kid})
    with pytest.raises(key_proof.ProofRejected, match=message) as caught:
        check(token, client_id="wallet-1")
    assert caught.value.error == "invalid_proof"


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused() -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), ec_key, algorithm="ES256",
                       headers={"typ": "openid4vci-proof+jwt", "kid": did_key_verification_method(ed_key.public_key())})
    with pytest.raises(key_proof.ProofRejected, match="ES256 needs a P-256 key"):
        check(token)
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(claims(), p384, algorithm="ES384", headers={"typ": "openid4vci-proof+jwt", "jwk": {}})
    with pytest.raises(key_proof.ProofRejected, match="not accepted"):
        check(token)


def test_a_point_off_the_curve_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = es256_jwk(key)
    jwk["y"] = jwk["x"]
    token = jwt.encode(claims(), key, algorithm="ES256", headers={"typ": "openid4vci-proof+jwt", "jwk": jwk})
    with pytest.raises(key_proof.ProofRejected, match="curve"):
        check(token)
