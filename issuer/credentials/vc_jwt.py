"""VC-JWT as OB 3.0 "JSON Web Token Proof Format" (compact JWS, RS256).

OB 3.0 section "JSON Web Token Proof Format" (#jwt-proof): the JOSE header is
exactly ``alg``, ``kid`` (a URL / DID URL that dereferences to the public JWK)
and ``typ: "JWT"``; the payload is the credential JSON plus ``iss`` (issuer
id), ``jti`` (credential id), ``sub`` (credentialSubject.id), ``nbf``
(validFrom) and ``exp`` (validUntil, when present). ``alg`` "MUST be RS256 as
a minimum"; Ed25519 (RFC 9864's fully-specified name) is also produced. Both
Ed25519 names are read: ``Ed25519`` and RFC 8037's ``EdDSA``, which PyJWT, jose
and joserfc write for an Ed25519 key (RFC 9864 deprecates the name, it does not
withdraw it), always with an Ed25519 key and never another type (no algorithm
confusion). RS256 JWS is joserfc's; an Ed25519 signature is checked with
``cryptography`` itself, because joserfc warns on ``EdDSA`` and the signature
is the same under both names (RFC 9864 section 2.2).

``sub``: this service's credentials always name their subject (the therapist's
stable ``urn:uuid:``, or a DID the holder proved), so ``sub`` is always there. A
credential whose subject has no ``id`` (one sent to the VC-API, or issued
before subjects had ids) gets no ``sub`` rather than an invented one; a
verifier then finds the recipient in ``credentialSubject.identifier``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey, RSAKey

from issuer.credentials import jsonparse
from issuer.credentials.cache import BoundedCache
from issuer.credentials.errors import JSONInputError, KeyResolutionError, ProofError, SigningError
from issuer.credentials.multikey import PrivateKey, PublicKey

RS256 = "RS256"
ED25519 = "Ed25519"  # RFC 9864's fully-specified name: what this service writes
EDDSA = "EdDSA"  # RFC 8037's name, read (other JOSE libraries write it); with an Ed25519 key only
ALGORITHMS = (RS256, ED25519)
VERIFY_ALGORITHMS = (RS256, ED25519, EDDSA)
ED25519_ALGORITHMS = frozenset({ED25519, EDDSA})
ALLOWED_HEADERS = frozenset({"alg", "kid", "typ"})
EMBEDDED_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
MIN_RSA_SIGNING_BITS = 3072
MIN_RSA_VERIFY_BITS = 2048
MAX_TOKEN_LENGTH = 1_000_000
REGISTERED_CLAIMS = ("iss", "jti", "sub", "nbf", "exp", "iat", "aud")
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)

ResolveKey = Callable[[str], PublicKey]
#: RFC 7515 7.1: each part of a compact JWS is base64url without padding (and so ASCII).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64url_json(segment: str, what: str) -> Any:
    """A base64url segment read as strict JSON (``jsonparse``: a duplicate claim is refused, not last-wins)."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        raise ProofError(f"the JWT {what} is not base64url-encoded JSON") from None
    try:
        return jsonparse.loads(raw)
    except JSONInputError as error:
        if error.reason in ("malformed", "not_utf8"):
            raise ProofError(f"the JWT {what} is not base64url-encoded JSON") from None
        raise ProofError(f"the JWT {what} is refused: {error}") from None


def parse_datetime(value: Any, field: str) -> datetime:
    """Parse an XML Schema dateTime (with zone) as used in ``validFrom`` etc.

    Raises:
        ValueError: not a string, unparseable, or without a time zone.
    """
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a dateTime string")  # noqa: TRY004 (callers catch ValueError for any bad value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} {value!r} is not an XML Schema dateTime") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{field} {value!r} has no time zone")
    return parsed


def numeric_date(value: Any, field: str) -> int:
    """JWT NumericDate (RFC 7519 2: seconds since the epoch) of a dateTime field."""
    return int(parse_datetime(value, field).timestamp())


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def _subject(credential: Mapping[str, Any]) -> Any:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    return subject


def credential_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The JWT claims OB 3.0 derives from a credential (``iss``, ``jti``, ``sub``?, ``nbf``, ``exp``?)."""
    claims: dict[str, Any] = {}
    issuer_id = _id_of(credential.get("issuer"))
    if not isinstance(issuer_id, str):
        raise SigningError("the credential has no issuer id")
    claims["iss"] = issuer_id
    if not isinstance(credential.get("id"), str):
        raise SigningError("the credential has no id (needed for jti)")
    claims["jti"] = credential["id"]
    subject_id = _id_of(_subject(credential))
    if isinstance(subject_id, str):
        claims["sub"] = subject_id
    try:
        claims["nbf"] = numeric_date(credential.get("validFrom"), "validFrom")
        if "validUntil" in credential:
            claims["exp"] = numeric_date(credential["validUntil"], "validUntil")
    except ValueError as error:
        raise SigningError(str(error)) from None
    return claims


def _joserfc_key(key: PrivateKey | PublicKey) -> RSAKey | OKPKey:
    if isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        return _signing_key(key)
    return _import_key(key)


#: Process-wide, because it is keyed by the private key objects callers pass in (immutable, a few at a time), so
#: an entry serves only a caller that already holds that very key.
_SIGNING_KEYS: BoundedCache[PrivateKey, RSAKey | OKPKey] = BoundedCache(16, name="vc_jwt.signing_keys")


def _signing_key(key: PrivateKey) -> RSAKey | OKPKey:
    """The joserfc wrapper of a private key object, kept (importing one costs about half a signature).

    Only private keys: they are few, long-lived and hashable; public keys come and go with each verification.
    """
    imported = _SIGNING_KEYS.get(key)
    if imported is None:
        imported = _import_key(key)
        _SIGNING_KEYS.put(key, imported)
    return imported


def _import_key(key: PrivateKey | PublicKey) -> RSAKey | OKPKey:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return RSAKey.import_key(key)
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return OKPKey.import_key(key)
    raise ProofError(f"unsupported key type {type(key).__name__}")


def encode(
    credential: Mapping[str, Any],
    *,
    private_key: PrivateKey,
    kid: str,
    algorithm: str = RS256,
) -> str:
    """Sign a credential as a compact JWS (OB 3.0 VC-JWT).

    Args:
        credential: the credential; it may already carry an embedded proof (OB 3.0:
            "the embedded proof is added first and the JWT made last").
        private_key: RSA (≥3072 bits) for RS256, or Ed25519 for ``Ed25519``.
        kid: URL or DID URL that dereferences to the public JWK (``did:web:...#rsa-1``).
        algorithm: ``RS256`` (OB 3.0 minimum, default) or ``Ed25519``.

    Returns:
        ``header.payload.signature``.

    Raises:
        SigningError: wrong key for the algorithm, missing id/issuer/validFrom.
    """
    if algorithm == RS256:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise SigningError("RS256 needs an RSA private key")
        if private_key.key_size < MIN_RSA_SIGNING_BITS:
            raise SigningError(f"RS256 keys must have at least {MIN_RSA_SIGNING_BITS} bits")
    elif algorithm == ED25519:
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise SigningError("Ed25519 needs an Ed25519 private key")
    else:
        raise SigningError(f"unsupported JWS algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    if not isinstance(kid, str) or not kid:
        raise SigningError("kid is required (a URL or DID URL of the public key)")
    payload = {**credential, **credential_claims(credential)}
    header = {"alg": algorithm, "kid": kid, "typ": "JWT"}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        token: str = jws.serialize_compact(header, body, _joserfc_key(private_key), algorithms=[algorithm])
    except JoseError as error:
        raise SigningError(f"JWS signing failed: {error}") from None
    return token


_JWS_PARTS = 3  # a compact JWS: header.payload.signature
_MAX_ECHO = 40  # how much of a refused value a message repeats


def read_header_unchecked(token: str) -> dict[str, Any] | None:
    """The JOSE header as JSON, without any check (``None`` if it is not base64url JSON)."""
    try:
        header = _b64url_json(token.split(".", maxsplit=1)[0], "header")
    except ProofError:
        return None
    return header if isinstance(header, dict) else None


def read_payload_unchecked(token: str) -> Any:
    """The JWT payload as JSON, UNVERIFIED (for reporting on a token whose proof fails).

    Raises:
        ProofError: not base64url JSON.
    """
    parts = token.split(".")
    if len(parts) != _JWS_PARTS:
        raise ProofError("not a compact JWS (expected header.payload.signature)")
    return _b64url_json(parts[1], "payload")


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header, checked against OB 3.0's rules (before any signature check).

    Raises:
        ProofError: malformed, ``alg`` none/HMAC/unsupported, an embedded key
            (``jwk``, ``jku``, ``x5u``, ``x5c``: the issuer key is then not trusted),
            ``crit``, any other header, or a ``typ`` other than ``JWT``.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise ProofError("a JWT must be a string of at most 1 MB")
    parts = token.strip().split(".")
    if len(parts) != _JWS_PARTS or not all(parts[:2]):
        raise ProofError("not a compact JWS (expected header.payload.signature)")
    if not all(_BASE64URL.fullmatch(part) for part in parts):
        raise ProofError("not a compact JWS: each part must be base64url text (A-Z, a-z, 0-9, - and _, no padding)")
    header = _b64url_json(parts[0], "header")
    if not isinstance(header, dict):
        raise ProofError("the JOSE header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise ProofError("unsigned JWT (alg none) refused")
    if alg.upper().startswith("HS"):
        raise ProofError(f"HMAC algorithm {alg} refused: a shared secret cannot prove who issued a credential")
    if alg not in VERIFY_ALGORITHMS:
        shown = alg if len(alg) <= _MAX_ECHO else alg[:_MAX_ECHO] + "..."
        raise ProofError(f"JWS algorithm {shown!r} not accepted; accepted: {', '.join(VERIFY_ALGORITHMS)}")
    embedded = [name for name in EMBEDDED_KEY_HEADERS if name in header]
    if embedded:
        raise ProofError(
            f"the JOSE header embeds its own key ({', '.join(embedded)}): a key supplied by the token "
            "itself is not trusted, so the issuer key is unknown"
        )
    if "crit" in header:
        raise ProofError(f"unsupported critical header parameters crit={header['crit']!r}")
    extra = sorted(set(header) - ALLOWED_HEADERS)
    if extra:
        raise ProofError(f"JOSE header parameters not allowed by OB 3.0: {', '.join(extra)}")
    if "typ" in header and header["typ"] != "JWT":
        raise ProofError(f"JOSE header typ {header['typ']!r}, expected 'JWT'")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise ProofError("the JOSE header has no kid: the issuer's key cannot be identified")
    return header


def _check_key(alg: str, key: Any) -> None:
    if alg == RS256:
        if not isinstance(key, rsa.RSAPublicKey):
            raise ProofError(f"kid resolves to a {type(key).__name__}, but alg RS256 needs an RSA key")
        if key.key_size < MIN_RSA_VERIFY_BITS:
            raise ProofError(f"RSA key of {key.key_size} bits is too small")
    elif alg in ED25519_ALGORITHMS:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ProofError(f"kid resolves to a {type(key).__name__}, but alg {alg} needs an Ed25519 key")
    else:  # read_header lets no other algorithm through; refuse rather than guess if that ever changes
        raise ProofError(f"JWS algorithm {alg!r} not accepted")


def _ed25519_payload(token: str, key: ed25519.Ed25519PublicKey, kid: str) -> bytes:
    """The payload of a compact JWS whose Ed25519 signature (``EdDSA`` or ``Ed25519``) verifies with ``key``.

    RFC 8037 3.1 / RFC 9864: the signature is Ed25519 over the ASCII ``header.payload``; ``read_header`` has
    already checked that each part is base64url text.
    """
    header_segment, payload_segment, signature_segment = token.split(".")
    try:
        signature = base64.urlsafe_b64decode(signature_segment + "=" * (-len(signature_segment) % 4))
        payload = base64.urlsafe_b64decode(payload_segment + "=" * (-len(payload_segment) % 4))
        key.verify(signature, f"{header_segment}.{payload_segment}".encode("ascii"))
    except (ValueError, InvalidSignature):
        raise ProofError(
            f"JWS signature does not verify with the key of {kid!r} (tampered token or wrong key): InvalidSignature"
        ) from None
    return payload


def credential_from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The credential inside a VC-JWT payload: VC 2.0 form (payload = credential + claims) or VC 1.1 ``vc``."""
    if "vc" in payload:
        credential = payload["vc"]
        if not isinstance(credential, dict):
            raise ProofError("the vc claim is not a JSON object")
        return dict(credential)
    return {key: value for key, value in payload.items() if key not in REGISTERED_CLAIMS}


def check_claims(payload: Mapping[str, Any], credential: Mapping[str, Any]) -> None:
    """OB 3.0 #jwt-verify: each claim must equal its credential field.

    Raises:
        ProofError: naming the first claim that disagrees.
    """
    vc11 = "vc" in payload
    issuer_id = _id_of(credential.get("issuer"))
    if payload.get("iss") != issuer_id:
        raise ProofError(f"iss {payload.get('iss')!r} does not match the credential issuer {issuer_id!r}")
    if payload.get("jti") != credential.get("id"):
        raise ProofError(f"jti {payload.get('jti')!r} does not match the credential id {credential.get('id')!r}")
    subject_id = _id_of(_subject(credential))
    if payload.get("sub") != subject_id:
        raise ProofError(f"sub {payload.get('sub')!r} does not match credentialSubject.id {subject_id!r}")
    start_field, end_field = ("issuanceDate", "expirationDate") if vc11 else ("validFrom", "validUntil")
    for claim, field in (("nbf", start_field), ("exp", end_field)):
        if field not in credential:
            if claim in payload and not (vc11 and claim == "nbf"):
                raise ProofError(f"{claim} is present but the credential has no {field}")
            if claim == "nbf" and not vc11:
                raise ProofError("the credential has no validFrom")
            continue
        try:
            expected = numeric_date(credential[field], field)
        except ValueError as error:
            raise ProofError(str(error)) from None
        if payload.get(claim) != expected:
            raise ProofError(
                f"{claim} {payload.get(claim)!r} does not match {field} {credential[field]!r} ({expected})"
            )


def decode_and_verify(
    token: str,
    *,
    resolve_key: ResolveKey,
    now: datetime,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    check_times: bool = True,
) -> dict[str, Any]:
    """Verify a VC-JWT and return the credential it carries.

    Args:
        token: the compact JWS.
        resolve_key: kid → public key; it must raise (e.g. ``UnknownIssuer``) for
            a kid it cannot vouch for. It is never given an embedded key.
        now: the current time (aware datetime).
        max_clock_skew: tolerance for ``nbf``/``exp``.
        check_times: ``False`` leaves ``nbf``/``exp`` to the caller (``verify()``
            reports them as its ``validity`` check).

    Returns:
        The credential (VC 2.0 payload without the JWT claims, or the ``vc`` claim).

    Raises:
        ProofError: any refusal, with a message naming it (see ``read_header``;
            also unresolvable kid, wrong key, bad signature / tampered payload,
            claims disagreeing with the credential, not yet valid, expired).
    """
    header = read_header(token)
    kid, alg = header["kid"], header["alg"]
    try:
        public_key = resolve_key(kid)
    except KeyResolutionError as error:
        raise ProofError(f"kid {kid!r} is not resolvable: {error}") from None
    _check_key(alg, public_key)
    if isinstance(public_key, ed25519.Ed25519PublicKey):  # alg EdDSA or Ed25519 (_check_key)
        signed_payload = _ed25519_payload(token.strip(), public_key, kid)
    else:
        try:
            signed_payload = jws.deserialize_compact(token.strip(), _joserfc_key(public_key), algorithms=[alg]).payload
        except JoseError as error:
            raise ProofError(
                f"JWS signature does not verify with the key of {kid!r} "
                f"(tampered token or wrong key): {error.__class__.__name__}"
            ) from None
    try:
        payload = jsonparse.loads(signed_payload)
    except JSONInputError as error:
        raise ProofError(f"the JWT payload is not acceptable JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ProofError("the JWT payload is not a JSON object")
    credential = credential_from_payload(payload)
    check_claims(payload, credential)
    if check_times:
        current = now.astimezone(UTC).timestamp()
        skew = max_clock_skew.total_seconds()
        if isinstance(payload.get("nbf"), (int, float)) and payload["nbf"] > current + skew:
            raise ProofError("the JWT is not yet valid (nbf is in the future)")
        if isinstance(payload.get("exp"), (int, float)) and payload["exp"] < current - skew:
            raise ProofError("the JWT has expired (exp has passed)")
    return credential
