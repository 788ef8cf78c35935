"""VC-JWT (OB 3.0 JSON Web Token Proof Format): encoding and every refusal."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import OctKey, RSAKey

from credentials_support import ISSUER_DID, NOW, VALIDATOR
from issuer.credentials import (
    KeyResolver,
    ProofError,
    SigningError,
    decode_and_verify,
    document_loader,
    encode_jwt,
    generate_ed25519,
    generate_rsa,
    public_jwk,
    verify,
)
from issuer.credentials.vc_jwt import credential_claims, numeric_date

KID = f"{ISSUER_DID}#rsa-1"


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")

    def decode(segment: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded

    return decode(header), decode(payload)


@pytest.fixture
def credential(make_credential: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_credential()


@pytest.fixture
def token(credential: dict[str, Any], rsa_key: Any) -> str:
    return encode_jwt(credential, private_key=rsa_key, kid=KID)


def _resolve(resolver: KeyResolver) -> Callable[[str], Any]:
    return lambda kid: resolver.resolve(kid).public_key


def test_header_and_claims_are_exactly_as_ob3_says(token: str, credential: dict[str, Any]) -> None:
    header, payload = _parts(token)
    assert header == {"alg": "RS256", "kid": KID, "typ": "JWT"}
    assert list(header) == ["alg", "kid", "typ"]
    assert payload["iss"] == ISSUER_DID
    assert payload["jti"] == credential["id"]
    assert payload["nbf"] == numeric_date(credential["validFrom"], "validFrom")
    assert payload["exp"] == numeric_date(credential["validUntil"], "validUntil")
    assert "sub" not in payload  # the subject has no id: identified by the hashed e-mail
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "nbf", "exp")} == credential


def test_sub_is_the_subject_id_when_there_is_one(
    make_credential: Callable[..., dict[str, Any]], rsa_key: Any, resolver: KeyResolver
) -> None:
    token = encode_jwt(make_credential(recipient_did="did:example:learner"), private_key=rsa_key, kid=KID)
    assert _parts(token)[1]["sub"] == "did:example:learner"
    assert (
        decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW)["credentialSubject"]["id"]
        == "did:example:learner"
    )


def test_round_trip_and_full_verify(token: str, credential: dict[str, Any], resolver: KeyResolver) -> None:
    assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == credential
    result = verify(token, document_loader=document_loader, resolver=resolver, now=NOW)
    assert result.verified, result.errors
    assert result.format == "jwt"
    assert result.credential == credential


def test_ed25519_jwt_is_optional_but_works(credential: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    token = encode_jwt(credential, private_key=ed_key, kid=f"{ISSUER_DID}#ed-1", algorithm="Ed25519")
    assert _parts(token)[0]["alg"] == "Ed25519"
    assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == credential


def test_signing_refuses_small_rsa_keys_and_mismatched_algorithms(credential: dict[str, Any], ed_key: Any) -> None:
    with pytest.raises(SigningError, match="3072"):
        encode_jwt(credential, private_key=generate_rsa(2048), kid=KID)
    with pytest.raises(SigningError, match="RSA"):
        encode_jwt(credential, private_key=ed_key, kid=KID)
    with pytest.raises(SigningError, match="unsupported"):
        encode_jwt(credential, private_key=ed_key, kid=KID, algorithm="HS256")


def _forge(header: dict[str, Any], payload: dict[str, Any], key: Any, alg: str) -> str:
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=[alg])


def _refused(token: str, resolver: KeyResolver, words: str, **kwargs: Any) -> None:
    with pytest.raises(ProofError) as caught:
        decode_and_verify(token, resolve_key=_resolve(resolver), now=kwargs.pop("now", NOW), **kwargs)
    assert words in str(caught.value)
    result = verify(token, document_loader=document_loader, resolver=resolver, now=NOW)
    assert not result.verified


def test_alg_none_is_refused(token: str, resolver: KeyResolver) -> None:
    header, payload = _parts(token)
    _refused(f"{_b64({**header, 'alg': 'none'})}.{_b64(payload)}.", resolver, "alg none")


def test_hmac_is_refused_even_with_the_public_key_as_secret(token: str, resolver: KeyResolver, rsa_key: Any) -> None:
    header, payload = _parts(token)
    secret = OctKey.import_key(json.dumps(public_jwk(rsa_key.public_key())).encode())
    _refused(_forge({**header, "alg": "HS256"}, payload, secret, "HS256"), resolver, "HMAC")


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_key_headers_are_not_trusted(token: str, resolver: KeyResolver, rsa_key: Any, name: str) -> None:
    header, payload = _parts(token)
    value = public_jwk(rsa_key.public_key()) if name == "jwk" else ["MIIB"] if name == "x5c" else "https://evil.example/k"
    _refused(_forge({**header, name: value}, payload, RSAKey.import_key(rsa_key), "RS256"), resolver, "not trusted")


def test_unknown_crit_and_extra_headers_are_refused(token: str, resolver: KeyResolver, rsa_key: Any) -> None:
    header, payload = _parts(token)
    key = RSAKey.import_key(rsa_key)
    _refused(_b64({**header, "crit": ["exp"]}) + "." + token.split(".", 1)[1], resolver, "crit")
    _refused(_forge({**header, "cty": "vc"}, payload, key, "RS256"), resolver, "not allowed by OB 3.0: cty")
    _refused(_forge({**header, "typ": "vc+jwt"}, payload, key, "RS256"), resolver, "typ")


def test_kid_missing_or_not_resolvable(token: str, resolver: KeyResolver, rsa_key: Any) -> None:
    header, payload = _parts(token)
    key = RSAKey.import_key(rsa_key)
    _refused(_forge({"alg": "RS256", "typ": "JWT"}, payload, key, "RS256"), resolver, "no kid")
    _refused(
        _forge({**header, "kid": "https://elsewhere.example/keys/1"}, payload, key, "RS256"), resolver, "not resolvable"
    )


def test_wrong_key_is_refused(credential: dict[str, Any], resolver: KeyResolver) -> None:
    token = encode_jwt(credential, private_key=generate_rsa(3072), kid=KID)  # our kid, someone else's key
    _refused(token, resolver, "does not verify")
    ed_token = encode_jwt(credential, private_key=generate_ed25519(), kid=f"{ISSUER_DID}#ed-1", algorithm="Ed25519")
    _refused(ed_token, resolver, "does not verify")
    mismatched = encode_jwt(credential, private_key=generate_ed25519(), kid=KID, algorithm="Ed25519")
    _refused(mismatched, resolver, "needs an Ed25519 key")


def test_tampered_payload_is_refused(token: str, resolver: KeyResolver) -> None:
    header_b64, _, signature = token.split(".")
    _, payload = _parts(token)
    payload["name"] = "Something grander"
    _refused(f"{header_b64}.{_b64(payload)}.{signature}", resolver, "does not verify")


@pytest.mark.parametrize(
    ("claim", "value", "words"),
    [
        ("iss", "did:web:other.example", "iss"),
        ("jti", "urn:uuid:00000000-0000-4000-8000-000000000000", "jti"),
        ("sub", "did:example:someone", "sub"),
        ("nbf", 1, "nbf"),
        ("exp", 4102444800, "exp"),
    ],
)
def test_claims_disagreeing_with_the_credential_are_refused(
    token: str, resolver: KeyResolver, rsa_key: Any, claim: str, value: Any, words: str
) -> None:
    header, payload = _parts(token)
    payload[claim] = value
    _refused(_forge(header, payload, RSAKey.import_key(rsa_key), "RS256"), resolver, words)


def test_nbf_in_the_future_and_exp_passed_with_small_skew(
    token: str, resolver: KeyResolver, credential: dict[str, Any]
) -> None:
    nbf = numeric_date(credential["validFrom"], "validFrom")
    exp = numeric_date(credential["validUntil"], "validUntil")
    from datetime import datetime

    def at(seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    decode_and_verify(token, resolve_key=_resolve(resolver), now=at(nbf - 60))
    with pytest.raises(ProofError, match="not yet valid"):
        decode_and_verify(token, resolve_key=_resolve(resolver), now=at(nbf - 600))
    decode_and_verify(token, resolve_key=_resolve(resolver), now=at(exp + 60))
    with pytest.raises(ProofError, match="expired"):
        decode_and_verify(token, resolve_key=_resolve(resolver), now=at(exp + 600), max_clock_skew=timedelta(minutes=1))
    late = verify(token, document_loader=document_loader, resolver=resolver, now=at(exp + 600))
    assert {c.name for c in late.checks if c.ok is False} == {"validity"}


def test_vc11_vc_claim_form_is_read(credential: dict[str, Any], rsa_key: Any, resolver: KeyResolver) -> None:
    vc = {k: v for k, v in credential.items() if k not in ("validFrom", "validUntil")}
    vc["issuanceDate"] = credential["validFrom"]
    payload = {
        "vc": vc,
        "iss": ISSUER_DID,
        "jti": credential["id"],
        "nbf": numeric_date(vc["issuanceDate"], "issuanceDate"),
    }
    token = _forge({"alg": "RS256", "kid": KID, "typ": "JWT"}, payload, RSAKey.import_key(rsa_key), "RS256")
    assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == vc


def test_validator_jwt_samples_are_read_but_their_keys_are_not_trusted(resolver: KeyResolver) -> None:
    simple = (VALIDATOR / "ob30" / "simple.jwt").read_text()
    with pytest.raises(ProofError, match="no kid"):
        decode_and_verify(simple, resolve_key=_resolve(resolver), now=NOW)
    result = verify(simple, document_loader=document_loader, resolver=resolver, now=NOW)
    assert result.format == "jwt"
    assert result.credential
    assert result.credential["id"] == "http://example.edu/credentials/3732"
    clr = (VALIDATOR / "clr20" / "simple.jwt").read_text()
    with pytest.raises(ProofError, match="issuer key is unknown"):
        decode_and_verify(clr, resolve_key=_resolve(resolver), now=NOW)


def test_key_controller_must_be_the_issuer(credential: dict[str, Any], resolver: KeyResolver) -> None:
    outsider = generate_ed25519()
    from issuer.credentials import did_key_verification_method

    token = encode_jwt(credential, private_key=outsider, kid=did_key_verification_method(outsider.public_key()),
                       algorithm="Ed25519")
    result = verify(token, document_loader=document_loader, resolver=resolver, now=NOW)
    assert "does not match issuer" in result.check("proof").message


def test_jwt_over_a_credential_with_its_embedded_proof(credential: dict[str, Any], ed_key: Any, rsa_key: Any,
                                                       resolver: KeyResolver) -> None:
    # OB 3.0: when both formats are used, the embedded proof is added first and the JWT made last.
    from issuer.credentials import sign

    signed = sign(credential, private_key=ed_key, verification_method=f"{ISSUER_DID}#ed-1", created=NOW,
                  document_loader=document_loader)
    token = encode_jwt(signed, private_key=rsa_key, kid=KID)
    assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == signed
    result = verify(token, document_loader=document_loader, resolver=resolver, now=NOW)
    assert result.verified, result.errors
    assert result.issuer_known


# --- Ed25519 VC-JWTs written by other JOSE libraries: alg "EdDSA" (RFC 8037) as well as "Ed25519" (RFC 9864) -------
ED_KID = f"{ISSUER_DID}#ed-1"


def _pyjwt_eddsa(credential: dict[str, Any], key: Any, kid: str = ED_KID, **headers: Any) -> str:
    """An OB 3.0 VC-JWT as PyJWT writes it for an Ed25519 key (it knows only the name EdDSA)."""
    import jwt

    payload = {**credential, **credential_claims(credential)}
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT", **headers})


def _ed_sign(header: dict[str, Any], payload: dict[str, Any], key: Any) -> str:
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    signature = base64.urlsafe_b64encode(key.sign(signing_input.encode())).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


def test_an_eddsa_vc_jwt_from_pyjwt_verifies(credential: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    token = _pyjwt_eddsa(credential, ed_key)
    assert _parts(token)[0] == {"alg": "EdDSA", "kid": ED_KID, "typ": "JWT"}
    assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == credential
    result = verify(token, document_loader=document_loader, resolver=resolver, now=NOW)
    assert result.verified, result.errors
    proof = result.check("proof")
    assert proof is not None
    assert proof.message == f"JWS (EdDSA) verifies with {ED_KID}"


def test_both_ed25519_names_sign_the_same_way_but_a_signature_does_not_move_between_headers(
        credential: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    payload = {**credential, **credential_claims(credential)}
    for alg in ("EdDSA", "Ed25519"):
        token = _ed_sign({"alg": alg, "kid": ED_KID, "typ": "JWT"}, payload, ed_key)
        assert decode_and_verify(token, resolve_key=_resolve(resolver), now=NOW) == credential
    eddsa = _ed_sign({"alg": "EdDSA", "kid": ED_KID, "typ": "JWT"}, payload, ed_key)
    renamed = _b64({"alg": "Ed25519", "kid": ED_KID, "typ": "JWT"}) + "." + eddsa.split(".", 1)[1]
    _refused(renamed, resolver, "does not verify")


def test_a_tampered_eddsa_vc_jwt_is_refused(credential: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    token = _pyjwt_eddsa(credential, ed_key)
    header_b64, _, signature = token.split(".")
    _, payload = _parts(token)
    payload["name"] = "Something grander"
    _refused(f"{header_b64}.{_b64(payload)}.{signature}", resolver, "does not verify")
    _refused(_pyjwt_eddsa(credential, generate_ed25519()), resolver, "does not verify")  # our kid, another key
    _refused(f"{header_b64}.{token.split('.')[1]}.{signature[:-4]}", resolver, "does not verify")  # cut short
    _refused(f"{header_b64}.{token.split('.')[1]}.", resolver, "does not verify")  # no signature at all


def test_alg_confusion_is_refused(credential: dict[str, Any], ed_key: Any, rsa_key: Any,
                                  resolver: KeyResolver) -> None:
    payload = {**credential, **credential_claims(credential)}
    # An Ed25519 signature under an RS256 header naming the Ed25519 key: RS256 needs an RSA key.
    _refused(_ed_sign({"alg": "RS256", "kid": ED_KID, "typ": "JWT"}, payload, ed_key), resolver, "needs an RSA key")
    # EdDSA / Ed25519 naming the RSA key: an Ed25519 name needs an Ed25519 key, whatever signed it.
    for alg in ("EdDSA", "Ed25519"):
        _refused(_ed_sign({"alg": alg, "kid": KID, "typ": "JWT"}, payload, ed_key), resolver, "needs an Ed25519 key")
        rsa_signed = _forge({"alg": "RS256", "kid": KID, "typ": "JWT"}, payload, RSAKey.import_key(rsa_key), "RS256")
        relabelled = _b64({"alg": alg, "kid": KID, "typ": "JWT"}) + "." + rsa_signed.split(".", 1)[1]
        _refused(relabelled, resolver, "needs an Ed25519 key")
    # A MAC keyed with the Ed25519 public key's bytes, and names this verifier does not take for Ed25519.
    secret = OctKey.import_key(json.dumps(public_jwk(ed_key.public_key())).encode())
    _refused(_forge({"alg": "HS256", "kid": ED_KID, "typ": "JWT"}, payload, secret, "HS256"), resolver, "HMAC")
    for alg in ("eddsa", "EDDSA", "ED25519", "Ed448", "ES256", "EdDSA "):
        _refused(_ed_sign({"alg": alg, "kid": ED_KID, "typ": "JWT"}, payload, ed_key), resolver, "not accepted")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused_for_an_ed25519_kid(credential: dict[str, Any], resolver: KeyResolver, alg: str) -> None:
    payload = {**credential, **credential_claims(credential)}
    _refused(f"{_b64({'alg': alg, 'kid': ED_KID, 'typ': 'JWT'})}.{_b64(payload)}.", resolver, "alg none")


def test_non_base64url_parts_are_refused_before_any_key_is_used(
        credential: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    header_b64, payload_b64, signature = _pyjwt_eddsa(credential, ed_key).split(".")
    for bad in (f"{header_b64}.{payload_b64}é.{signature}", f"{header_b64}.{payload_b64}.{signature}é",
                f"{header_b64}.{payload_b64[:8]}!!!!{payload_b64[8:]}.{signature}",
                f"{header_b64}.{payload_b64}.{signature}==", f"{header_b64}.{payload_b64}.{signature[:-2]}+A"):
        _refused(bad, resolver, "base64url")
