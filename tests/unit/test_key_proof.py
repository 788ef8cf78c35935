"""OpenID4VCI ``jwt`` key proofs: keys resolved offline, signatures, claims (issuer.credentials.key_proof)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping

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


# --- hostile input: every refusal is a ProofRejected (a 400 invalid_proof), never another exception --------------
def _b64(data: bytes | Mapping[str, object]) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed(key: ed25519.Ed25519PrivateKey, header: Mapping[str, object], payload: Mapping[str, object]) -> str:
    """A proof signed over exactly these segments (PyJWT would refuse to write some of the hostile ones)."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"


def _good(key: ed25519.Ed25519PrivateKey) -> tuple[str, str, str]:
    kid = did_key_verification_method(key.public_key())
    token = jwt.encode(claims(), key, algorithm="EdDSA", headers={"typ": "openid4vci-proof+jwt", "kid": kid})
    header, payload, signature = token.split(".")
    return header, payload, signature


def _hostile_segments() -> dict[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    header, payload, signature = _good(key)
    return {
        "non-ASCII in the payload": f"{header}.{payload}é.{signature}",
        "non-ASCII in the header": f"{header}é.{payload}.{signature}",
        "non-ASCII in the signature": f"{header}.{payload}.{signature}é",
        "an emoji for the payload": f"{header}.\U0001f600.{signature}",
        "a NUL in the payload": f"{header}.{payload}\x00.{signature}",
        "a standard-base64 + in the signature": f"{header}.{payload}.{signature[:-2]}+{signature[-1]}",
        "padding": f"{header}.{payload}.{signature}==",
        "junk the base64 decoder would skip": f"{header}.{payload[:8]}!!!!{payload[8:]}.{signature}",
        "a newline inside": f"{header}.{payload}.{signature[:10]}\n{signature[10:]}",
        "a trailing newline": f"{header}.{payload}.{signature}\n",
        "a space": f"{header} .{payload}.{signature}",
        "a full-width dot": f"{header}\uff0e{payload}.{signature}",
        "four segments": f"{header}.{payload}.{signature}.{signature}",
        "an impossible length": f"{header}.{payload}.{signature}A",
    }


@pytest.mark.parametrize("case", list(_hostile_segments()))
def test_hostile_segments_are_refused_cleanly(case: str) -> None:
    with pytest.raises(key_proof.ProofRejected) as caught:
        check(_hostile_segments()[case])
    assert caught.value.error == "invalid_proof"


def test_a_did_jwk_kid_with_characters_outside_base64url_is_refused() -> None:
    """Python's base64 decoder skips characters outside its alphabet: the DID would decode to the right key
    while the holder DID written into the credential carried the junk (a NUL, a newline, a space)."""
    key = ed25519.Ed25519PrivateKey.generate()
    did = key_proof.did_jwk(key.public_key())
    for junk in ("!!!!", "\x00\x00\x00\x00", "    ", "\n\n\n\n", "é"):
        kid = did[:20] + junk + did[20:] + "#0"
        token = _signed(key, {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": kid}, claims())
        with pytest.raises(key_proof.ProofRejected, match="base64url"):
            check(token)
    # the clean DID URL is accepted and is the holder
    token = _signed(key, {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": did + "#0"}, claims())
    assert check(token).holder_did == did


@pytest.mark.parametrize(("header", "message"), [
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": "did:key:zé"}, "did:key"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": "did:key:z" + "\x00" * 40}, "did:key"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": "did:jwk:éé"}, "base64url"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": {"nested": {"deeper": [1, [2, [3]]]}}}, "kid"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": 10**99}, "kid"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "é" * 43}},
     "base64url"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": 1.5}},
     "base64url"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": [[[[[[[[[[]]]]]]]]]]}, "JSON"),
    ({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {}}}}}}}}},
     "JSON"),
    ({"typ": "openid4vci-proof+jwt", "alg": "ÉdDSA", "kid": "did:key:z"}, "not accepted"),
    ({"typ": "openid4vci-proof+jwt", "alg": "x" * 5000, "kid": "did:key:z"}, "not accepted"),
    ({"typ": "openid4vci-proof+jwt", "alg": ["EdDSA"], "kid": "did:key:z"}, "not accepted"),
    ({"typ": ["openid4vci-proof+jwt"], "alg": "EdDSA", "kid": "did:key:z"}, "typ"),
])
def test_hostile_headers_are_refused_cleanly(header: dict[str, object], message: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(key_proof.ProofRejected, match=message) as caught:
        check(_signed(key, header, claims()))
    assert caught.value.error == "invalid_proof"
    assert len(str(caught.value)) < 400  # the refusal does not echo kilobytes of the attacker's header back


@pytest.mark.parametrize(("change", "message"), [
    ({"iat": 10**99}, "future"),
    ({"iat": -(10**99)}, "stale"),
    ({"iat": 10**100}, "not JSON"),  # jsonparse: an integer of more than 100 digits
    ({"iat": 1.5e9}, "integer"),
    ({"iat": int(NOW.timestamp()) + 0.5}, "integer"),
    ({"iat": 1e308}, "integer"),
    ({"iat": -0.0}, "integer"),
    ({"iat": [int(NOW.timestamp())]}, "integer"),
    ({"iat": {"seconds": int(NOW.timestamp())}}, "integer"),
    ({"iat": None}, "integer"),
    ({"nonce": {"a": [1, {"b": 2}]}}, "nonce is required"),
    ({"nonce": "n" * 201}, "nonce is required"),
    ({"nonce": ""}, "nonce is required"),
    ({"aud": {"nested": [AUD]}}, "aud must be"),
    ({"aud": AUD + "\x00"}, "aud must be"),
])
def test_hostile_claims_are_refused_cleanly(change: dict[str, object], message: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": did_key_verification_method(key.public_key())}
    with pytest.raises(key_proof.ProofRejected, match=message) as caught:
        check(_signed(key, header, claims(**change)))
    assert caught.value.error == "invalid_proof"


@pytest.mark.parametrize("raw", [
    b'{"aud": "https://issuer.example", "aud": "https://issuer.example", "iat": 1, "nonce": "n"}',
    b'{"aud": "https://issuer.example", "iat": NaN, "nonce": "n"}',
    b'{"aud": "https://issuer.example", "iat": 1e400, "nonce": "n"}',
    b'{"aud": "https://issuer.example", "iat": 1796436000, "nonce": "\\ud800"}',
    b"\xff\xfe{}",
    b'{"a":' * 20 + b"1" + b"}" * 20,
    b"[" * 20 + b"]" * 20,
])
def test_claims_that_are_not_strict_json_are_refused_cleanly(raw: bytes) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    header = _b64({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": did_key_verification_method(key.public_key())})
    signing_input = f"{header}.{_b64(raw)}"
    with pytest.raises(key_proof.ProofRejected) as caught:
        check(f"{signing_input}.{_b64(key.sign(signing_input.encode()))}")
    assert caught.value.error == "invalid_proof"


def test_non_ascii_claims_inside_valid_base64url_are_just_data() -> None:
    """UTF-8 inside the (ASCII) base64url segments is fine: a nonce in any script is looked up like any other."""
    key = ed25519.Ed25519PrivateKey.generate()
    header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": did_key_verification_method(key.public_key())}
    assert check(_signed(key, header, claims(nonce="ñønce-✓"))).nonce == "ñønce-✓"


@pytest.mark.parametrize("size", [key_proof.MAX_PROOF_LENGTH + 1, 1_000_000])
def test_oversized_proofs_are_refused_before_any_parsing(size: int) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    header, payload, signature = _good(key)
    bloated = f"{header}.{payload}{'A' * (size - len(header) - len(payload) - len(signature) - 2)}.{signature}"
    assert len(bloated) == size
    with pytest.raises(key_proof.ProofRejected, match="at most"):
        check(bloated)
    with pytest.raises(key_proof.ProofRejected, match="at most"):
        check("é" * size)


@pytest.mark.parametrize("token", [None, 7, 1.5, b"a.b.c", ["a.b.c"], {"jwt": "a.b.c"}])
def test_a_proof_that_is_not_text_is_refused(token: object) -> None:
    with pytest.raises(key_proof.ProofRejected):
        check(token)  # type: ignore[arg-type]  # hostile input on purpose
