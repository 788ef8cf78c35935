"""Ed25519 Multikey, did:key and public JWK encodings.

Multikey (Controlled Identifiers 1.0 / VC-DI-EdDSA 2.1.1): ``publicKeyMultibase``
is ``"z" + base58btc(0xed 0x01 || 32-byte key)`` and therefore starts ``z6Mk``;
any other multicodec header MUST be rejected. The secret-key form uses header
``0x80 0x26`` (``z3u2...``) and is only read here, for the W3C test vectors.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from issuer.credentials.base58 import b58decode, b58encode
from issuer.credentials.errors import KeyFormatError

PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

ED25519_PUB_HEADER = b"\xed\x01"  # multicodec ed25519-pub (varint 0xed)
ED25519_PRIV_HEADER = b"\x80\x26"  # multicodec ed25519-priv (varint 0x1300)
MULTIBASE_BASE58BTC = "z"
ED25519_KEY_BYTES = 32  # a raw Ed25519 public key or seed
HEADERED_KEY_BYTES = len(ED25519_PUB_HEADER) + ED25519_KEY_BYTES  # the two-byte multicodec header, then the key
DID_KEY_PREFIX = "did:key:"


def _raw_public(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def encode_ed25519_multikey(public_key: ed25519.Ed25519PublicKey | bytes) -> str:
    """Encode an Ed25519 public key as ``publicKeyMultibase`` (``z6Mk...``).

    Args:
        public_key: the key object or its 32 raw bytes.

    Returns:
        The multibase string.
    """
    raw = public_key if isinstance(public_key, bytes) else _raw_public(public_key)
    if len(raw) != ED25519_KEY_BYTES:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return MULTIBASE_BASE58BTC + b58encode(ED25519_PUB_HEADER + raw)


def decode_ed25519_multikey(value: str) -> ed25519.Ed25519PublicKey:
    """Decode a ``publicKeyMultibase`` value into an Ed25519 public key.

    Raises:
        KeyFormatError: not base58btc multibase, wrong multicodec header, or wrong length.
    """
    if not isinstance(value, str) or not value.startswith(MULTIBASE_BASE58BTC):
        raise KeyFormatError(f"publicKeyMultibase must start with 'z' (base58btc), got {str(value)[:12]!r}")
    data = b58decode(value[1:])
    if data[:2] != ED25519_PUB_HEADER:
        raise KeyFormatError(f"multikey header {data[:2].hex()!r} is not ed25519-pub (ed01)")
    if len(data) != HEADERED_KEY_BYTES:
        raise KeyFormatError(f"ed25519-pub multikey must hold 32 key bytes, got {len(data) - 2}")
    return ed25519.Ed25519PublicKey.from_public_bytes(data[2:])


def decode_ed25519_secret_multikey(value: str) -> ed25519.Ed25519PrivateKey:
    """Decode a ``secretKeyMultibase`` (``z3u2...``, header 0x8026 + 32-byte seed).

    Raises:
        KeyFormatError: wrong multibase, header or length.
    """
    if not value.startswith(MULTIBASE_BASE58BTC):
        raise KeyFormatError("secretKeyMultibase must start with 'z' (base58btc)")
    data = b58decode(value[1:])
    if data[:2] != ED25519_PRIV_HEADER or len(data) != HEADERED_KEY_BYTES:
        raise KeyFormatError("not an ed25519-priv multikey (header 8026 + 32-byte seed)")
    return ed25519.Ed25519PrivateKey.from_private_bytes(data[2:])


def did_key_from_public_key(public_key: ed25519.Ed25519PublicKey) -> str:
    """``did:key:z6Mk...`` for an Ed25519 public key."""
    return DID_KEY_PREFIX + encode_ed25519_multikey(public_key)


def did_key_verification_method(public_key: ed25519.Ed25519PublicKey) -> str:
    """``did:key:z6Mk...#z6Mk...``: the verification method id (always with the fragment)."""
    multikey = encode_ed25519_multikey(public_key)
    return f"{DID_KEY_PREFIX}{multikey}#{multikey}"


def public_key_from_did_key(did_or_url: str) -> ed25519.Ed25519PublicKey:
    """Decode the Ed25519 key of a ``did:key`` DID or DID URL (``did:key:z6Mk...[#z6Mk...]``).

    Raises:
        KeyFormatError: not a did:key, not Ed25519, or a fragment naming another key.
    """
    if not did_or_url.startswith(DID_KEY_PREFIX):
        raise KeyFormatError(f"not a did:key: {did_or_url!r}")
    did, _, fragment = did_or_url.partition("#")
    multikey = did[len(DID_KEY_PREFIX) :]
    if fragment and fragment != multikey:
        raise KeyFormatError(f"did:key fragment {fragment!r} does not name the DID's own key")
    return decode_ed25519_multikey(multikey)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def public_jwk(public_key: PublicKey, *, kid: str | None = None) -> dict[str, str]:
    """The public JWK (RFC 7517/8037) of an Ed25519 or RSA key; never contains private members.

    Args:
        public_key: an Ed25519 or RSA public key (a private key is refused).
        kid: optional ``kid`` member to include.

    Raises:
        KeyFormatError: any other key type.
    """
    jwk: dict[str, str]
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(_raw_public(public_key))}
    elif isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {"kty": "RSA", "n": _b64url(_int_bytes(numbers.n)), "e": _b64url(_int_bytes(numbers.e))}
    else:
        raise KeyFormatError(f"no public JWK for {type(public_key).__name__}; give an Ed25519 or RSA public key")
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """Turn a public JWK (OKP/Ed25519 or RSA) into a key object.

    Raises:
        KeyFormatError: private members present, unsupported kty/crv, or malformed values.
    """
    if not isinstance(jwk, dict):
        raise KeyFormatError("a JWK must be a JSON object")
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise KeyFormatError("the JWK contains private key members; only public JWKs are accepted")
    try:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
        if jwk.get("kty") == "RSA":
            n = int.from_bytes(_b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(_b64url_decode(jwk["e"]), "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
    except (KeyError, TypeError, ValueError) as error:
        raise KeyFormatError(f"malformed JWK: {error}") from None
    raise KeyFormatError(f"unsupported JWK kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}")
