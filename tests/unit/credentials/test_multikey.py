"""base58btc, Multikey, did:key and JWK encodings."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from credentials_support import OB3_LDP, W3C_EDDSA, load_json
from issuer.credentials import (
    KeyFormatError,
    b58decode,
    b58encode,
    decode_ed25519_multikey,
    did_key_from_public_key,
    did_key_verification_method,
    encode_ed25519_multikey,
    generate_ed25519,
    generate_rsa,
    public_jwk,
    public_key_from_did_key,
    public_key_from_jwk,
)
from issuer.credentials.multikey import decode_ed25519_secret_multikey


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"", ""), (b"\0", "1"), (b"\0\0\x01", "112"), (b"hello world", "StV1DL6CwTryKyV"), (bytes([0xFF] * 4), "7YXq9G")],
)
def test_base58btc_known_values_round_trip(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


def test_base58btc_rejects_characters_outside_the_alphabet() -> None:
    with pytest.raises(KeyFormatError, match="'0'"):
        b58decode("z0OIl")


def test_w3c_key_pair_decodes_and_public_key_matches_secret_key() -> None:
    pair = load_json(W3C_EDDSA / "keyPair.json")
    secret = decode_ed25519_secret_multikey(pair["privateKeyMultibase"])
    assert encode_ed25519_multikey(secret.public_key()) == pair["publicKeyMultibase"]


def test_published_1edtech_multikey_is_the_published_hex_key() -> None:
    data = load_json(OB3_LDP / "ob3-key-and-hashes.json")
    key = decode_ed25519_multikey(data["publicKeyMultibase"])
    assert encode_ed25519_multikey(bytes.fromhex(data["publicKeyHex"])) == data["publicKeyMultibase"]
    assert encode_ed25519_multikey(key).startswith("z6Mk")


def test_multikey_with_another_multicodec_header_is_rejected() -> None:
    # 0xe7 0x01 = secp256k1-pub: a valid multikey, but not Ed25519
    bad = "z" + b58encode(b"\xe7\x01" + bytes(33))
    with pytest.raises(KeyFormatError, match="not ed25519-pub"):
        decode_ed25519_multikey(bad)
    with pytest.raises(KeyFormatError, match="start with 'z'"):
        decode_ed25519_multikey("u" + bad[1:])
    with pytest.raises(KeyFormatError, match="32 key bytes"):
        decode_ed25519_multikey("z" + b58encode(b"\xed\x01" + bytes(31)))


def test_did_key_round_trip_and_fragment_must_name_the_same_key() -> None:
    key = generate_ed25519().public_key()
    did = did_key_from_public_key(key)
    assert did.startswith("did:key:z6Mk")
    assert did_key_verification_method(key) == f"{did}#{did.removeprefix('did:key:')}"
    assert public_key_from_did_key(did_key_verification_method(key)) == key
    assert public_key_from_did_key(did) == key
    other = encode_ed25519_multikey(generate_ed25519().public_key())
    with pytest.raises(KeyFormatError, match="does not name"):
        public_key_from_did_key(f"{did}#{other}")
    with pytest.raises(KeyFormatError, match="not a did:key"):
        public_key_from_did_key("did:web:example.org")


def test_public_jwk_for_ed25519_and_rsa_round_trips_and_has_no_private_members() -> None:
    ed = generate_ed25519().public_key()
    rsa_key = generate_rsa(2048).public_key()
    ed_jwk = public_jwk(ed, kid="k1")
    assert ed_jwk["kty"] == "OKP"
    assert ed_jwk["crv"] == "Ed25519"
    assert ed_jwk["kid"] == "k1"
    rsa_jwk = public_jwk(rsa_key)
    assert rsa_jwk["kty"] == "RSA"
    assert rsa_jwk["e"] == "AQAB"
    assert public_key_from_jwk(ed_jwk) == ed
    assert public_key_from_jwk(rsa_jwk) == rsa_key
    assert not {"d", "p", "q"} & (set(ed_jwk) | set(rsa_jwk))


def test_jwk_with_private_members_or_other_key_types_is_refused() -> None:
    ed_jwk = public_jwk(generate_ed25519().public_key())
    with pytest.raises(KeyFormatError, match="private"):
        public_key_from_jwk({**ed_jwk, "d": "AAAA"})
    with pytest.raises(KeyFormatError, match="unsupported"):
        public_key_from_jwk({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})
    with pytest.raises(KeyFormatError):
        public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]
    assert isinstance(public_key_from_jwk(ed_jwk), ed25519.Ed25519PublicKey)
