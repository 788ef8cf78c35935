"""OpenID4VCI 1.0 key proofs of the ``jwt`` proof type (Appendix F.1), checked offline (pure).

A wallet proves it holds a key by signing a short JWT: header ``typ: openid4vci-proof+jwt``, an asymmetric
``alg`` and exactly one of ``kid`` (a DID URL) or ``jwk`` (the public key itself); claims ``aud`` (the credential
issuer identifier), ``iat`` and ``nonce`` (a ``c_nonce`` from the Nonce Endpoint). ``verify`` checks all of that
except whether the nonce is unused, which is the database's to say, and answers with the holder's DID: the
``kid``'s DID, or for a bare ``jwk`` its ``did:jwk``.

Keys are resolved without fetching anything: ``did:key`` (Ed25519) is decoded, ``did:jwk`` carries its JWK.
Algorithms: ``EdDSA`` and ``Ed25519`` (RFC 9864's name for the same signature) with an Ed25519 key, ``ES256``
with a P-256 key; ``none``, MACs and everything else are refused. The signature is checked with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from issuer.credentials import jsonparse
from issuer.credentials.errors import CredentialError, JSONInputError, KeyFormatError
from issuer.credentials.multikey import DID_KEY_PREFIX, public_key_from_did_key

PROOF_TYPE = "openid4vci-proof+jwt"
#: What ``proof_signing_alg_values_supported`` advertises.
ALGORITHMS = ("EdDSA", "Ed25519", "ES256")
DID_JWK_PREFIX = "did:jwk:"
MAX_PROOF_LENGTH = 8 * 1024
MAX_NONCE_LENGTH = 200
_JWS_PARTS = 3
_P256_COORDINATE_BYTES = 32
_ED25519_KEY_BYTES = 32
#: RFC 7515 2: base64url without padding. Python's decoder skips characters outside its alphabet and takes
#: ``+``/``/`` too, so text is checked against this before decoding: "did:jwk:ey..!!!!.." must not decode to the
#: same key as "did:jwk:ey..." (the junk would ride into the holder DID), nor a signature have two spellings.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ECHO = 40


class ProofRejected(CredentialError):
    """A key proof refused; ``error`` is the OID4VCI error code (``invalid_proof`` or ``invalid_nonce``)."""

    def __init__(self, message: str, *, error: str = "invalid_proof") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class KeyProof:
    """A verified key proof: who holds the key (a DID), the nonce it carries and when it was made."""

    holder_did: str
    nonce: str
    issued_at: datetime


PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def _b64url_decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ProofRejected(f"the {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ProofRejected(f"the {what} is not base64url text") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(segment: str, what: str) -> Any:
    try:
        return jsonparse.loads(_b64url_decode(segment, what), max_bytes=MAX_PROOF_LENGTH, max_depth=8)
    except JSONInputError as error:
        raise ProofRejected(f"the {what} is not JSON: {error}") from None


def _fixed_bytes(jwk: dict[str, Any], member: str, size: int) -> bytes:
    value = _b64url_decode(jwk.get(member), f"JWK member {member!r}")
    if len(value) != size:
        raise ProofRejected(f"JWK member {member!r} must be {size} bytes")
    return value


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """An Ed25519 (``OKP``) or P-256 (``EC``) public key from a JWK; private members are refused."""
    if not isinstance(jwk, dict):
        raise ProofRejected("the jwk header must be a JSON object")
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ProofRejected("the JWK contains private key members; send the public key only")
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(_fixed_bytes(jwk, "x", _ED25519_KEY_BYTES))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        x = int.from_bytes(_fixed_bytes(jwk, "x", _P256_COORDINATE_BYTES), "big")
        y = int.from_bytes(_fixed_bytes(jwk, "y", _P256_COORDINATE_BYTES), "big")
        try:
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError:
            raise ProofRejected("the P-256 JWK is not a point on the curve") from None
    raise ProofRejected("the key must be an Ed25519 (kty OKP) or P-256 (kty EC) public JWK")


def public_jwk(key: PublicKey) -> dict[str, str]:
    """The public JWK of ``key`` with its required members only, in lexicographic order (RFC 7638)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    numbers = key.public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": _b64url(numbers.x.to_bytes(_P256_COORDINATE_BYTES, "big")),
            "y": _b64url(numbers.y.to_bytes(_P256_COORDINATE_BYTES, "big"))}


def did_jwk(key: PublicKey) -> str:
    """``did:jwk`` of a public key: the base64url of its JWK's JSON (required members only)."""
    text = json.dumps(public_jwk(key), separators=(",", ":"), sort_keys=True)
    return DID_JWK_PREFIX + _b64url(text.encode("utf-8"))


def resolve_kid(kid: Any) -> tuple[str, PublicKey]:
    """(holder DID, public key) of a ``kid`` that is a ``did:key`` or ``did:jwk`` DID URL; nothing is fetched."""
    if not isinstance(kid, str) or not kid or len(kid) > MAX_PROOF_LENGTH:
        raise ProofRejected("kid must be a DID URL")
    did, _, fragment = kid.partition("#")
    if did.startswith(DID_KEY_PREFIX):
        try:
            return did, public_key_from_did_key(kid)
        except KeyFormatError as error:
            raise ProofRejected(f"kid is not an Ed25519 did:key: {error}") from None
    if did.startswith(DID_JWK_PREFIX):
        if fragment not in ("", "0"):
            raise ProofRejected("a did:jwk DID URL names its key as #0")
        jwk = _json_segment(did[len(DID_JWK_PREFIX):], "did:jwk value")
        return did, public_key_from_jwk(jwk)
    raise ProofRejected("kid must be a did:key or did:jwk DID URL (other DID methods are not resolved)")


def _check_signature(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg in ("EdDSA", "Ed25519"):
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise ProofRejected(f"alg {alg} needs an Ed25519 key")
            key.verify(signature, signing_input)
        else:  # ES256
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
                raise ProofRejected("alg ES256 needs a P-256 key")
            if len(signature) != 2 * _P256_COORDINATE_BYTES:
                raise ProofRejected("an ES256 signature is 64 bytes (R and S)")
            r = int.from_bytes(signature[:_P256_COORDINATE_BYTES], "big")
            s = int.from_bytes(signature[_P256_COORDINATE_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ProofRejected("the key proof's signature does not verify with its key") from None


def _echo(value: Any) -> str:
    """A short repr of a value the client sent, for a message (never kilobytes of it)."""
    text = repr(value)
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."


def _header(segment: str) -> dict[str, Any]:
    header = _json_segment(segment, "JOSE header")
    if not isinstance(header, dict):
        raise ProofRejected("the JOSE header is not a JSON object")
    if header.get("typ") != PROOF_TYPE:
        raise ProofRejected(f"the key proof's typ must be {PROOF_TYPE!r}")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise ProofRejected(f"alg {_echo(alg)} is not accepted; use one of {', '.join(ALGORITHMS)} "
                            "(never none or a MAC)")
    if "crit" in header:
        raise ProofRejected("critical header parameters (crit) are not supported")
    if "x5c" in header:
        raise ProofRejected("x5c is not supported; identify the key with kid (did:key, did:jwk) or jwk")
    if ("kid" in header) == ("jwk" in header):
        raise ProofRejected("the header must carry exactly one of kid and jwk")
    return header


def verify(token: Any, *, audience: str, now: datetime, max_age: timedelta, max_skew: timedelta,
           client_id: str | None = None) -> KeyProof:
    """Check a ``jwt`` key proof: its type, algorithm, key, signature, audience and freshness.

    The nonce is returned, not judged: it must be one this service handed out and not yet used.

    :param audience: the credential issuer identifier ``aud`` must equal.
    :param max_age: how old ``iat`` may be; ``max_skew``: how far in the future (clocks differ).
    :param client_id: the OAuth client the access token was issued to; ``iss``, when given, must equal it.
    :raise ProofRejected: with the reason, ``error`` ``invalid_proof`` (``invalid_nonce`` for a missing nonce
        is not used: OID4VCI names a missing ``c_nonce`` ``invalid_proof``).
    """
    if not isinstance(token, str) or len(token) > MAX_PROOF_LENGTH:
        raise ProofRejected(f"a key proof must be a compact JWT of at most {MAX_PROOF_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != _JWS_PARTS or not all(parts):
        raise ProofRejected("a key proof must be a compact JWS: header.payload.signature")
    if not all(_BASE64URL.fullmatch(part) for part in parts):
        # Also what makes the signing input below ASCII: a non-ASCII character is refused here, not a 500 there.
        raise ProofRejected("a key proof's three parts must be base64url text (A-Z, a-z, 0-9, - and _, no padding)")
    header = _header(parts[0])
    if "kid" in header:
        holder, key = resolve_kid(header["kid"])
    else:
        key = public_key_from_jwk(header["jwk"])
        holder = did_jwk(key)
    _check_signature(header["alg"], key, f"{parts[0]}.{parts[1]}".encode("ascii"),
                     _b64url_decode(parts[2], "signature"))
    claims = _json_segment(parts[1], "claims")
    if not isinstance(claims, dict):
        raise ProofRejected("the key proof's claims are not a JSON object")
    if claims.get("aud") != audience:
        raise ProofRejected(f"aud must be the credential issuer identifier {audience}")
    if client_id is not None and "iss" in claims and claims["iss"] != client_id:
        raise ProofRejected("iss must be the client_id the access token was issued to")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):  # F.1: "Integer for the time ..." (no fraction)
        raise ProofRejected("iat is required, as an integer number of seconds since the epoch")
    if iat < (now - max_age).timestamp():
        raise ProofRejected(f"the key proof is stale: iat is more than {int(max_age.total_seconds())} seconds ago")
    if iat > (now + max_skew).timestamp():
        raise ProofRejected("the key proof's iat is in the future")
    issued = now + timedelta(seconds=iat - now.timestamp())
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE_LENGTH:
        raise ProofRejected("nonce is required: a c_nonce from the nonce endpoint")
    return KeyProof(holder_did=holder, nonce=nonce, issued_at=issued)
