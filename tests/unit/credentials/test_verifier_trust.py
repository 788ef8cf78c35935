"""Who may sign for an issuer (issue 14): every proof of a set verifies, with a key that is the issuer's by exact
id; recognised issuers carry the name we know them by; dates at the edges of time never raise."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credentials_support import ISSUER_DID, NOW
from issuer.credentials import (
    KeyResolver,
    did_document,
    did_key_verification_method,
    document_loader,
    encode_ed25519_multikey,
    encode_jwt,
    generate_ed25519,
    sign,
    verify,
)
from issuer.credentials.dates import EARLIEST, LATEST, shift, validity_turn

VM = f"{ISSUER_DID}#ed-1"
MakeCredential = Callable[..., dict[str, Any]]


def _verify(data: Any, resolver: KeyResolver, **kwargs: Any) -> Any:
    return verify(data, document_loader=document_loader, resolver=resolver, now=NOW, **kwargs)


def _sign(document: dict[str, Any], key: Any, method: str) -> dict[str, Any]:
    return sign(document, private_key=key, verification_method=method, created=NOW, document_loader=document_loader)


def _with_issuer(make_credential: MakeCredential, issuer_profile: dict[str, Any], issuer_id: str) -> dict[str, Any]:
    return make_credential(issuer={**issuer_profile, "id": issuer_id})


@pytest.fixture
def signed(make_credential: MakeCredential, ed_key: Any) -> dict[str, Any]:
    return _sign(make_credential(), ed_key, VM)


# --- proof sets -------------------------------------------------------------------------------------------------


def test_a_valid_proof_beside_a_bogus_one_fails_naming_the_bogus_one(signed: dict[str, Any], resolver: KeyResolver,
                                                                       ed_key: Any) -> None:
    twice = _sign(signed, ed_key, VM)
    assert _verify(twice, resolver).verified
    for bogus_index in (0, 1):
        document = copy.deepcopy(twice)
        value = document["proof"][bogus_index]["proofValue"]
        document["proof"][bogus_index]["proofValue"] = value[:-4] + ("1111" if not value.endswith("1111") else "2222")
        result = _verify(document, resolver)
        assert not result.verified
        message = result.check("proof").message
        assert result.check("proof").ok is False
        assert f"proof {bogus_index + 1} (verificationMethod '{VM}') failed" in message
        assert f"proof {2 - bogus_index} (" not in message  # the good one is not blamed


def test_a_second_proof_by_someone_else_fails_the_set(signed: dict[str, Any], resolver: KeyResolver) -> None:
    outsider = generate_ed25519()
    method = did_key_verification_method(outsider.public_key())
    result = _verify(_sign(signed, outsider, method), resolver)
    assert not result.verified
    assert f"proof 2 (verificationMethod '{method}') failed" in result.check("proof").message
    assert "does not match issuer" in result.check("proof").message


def test_a_proof_that_is_not_an_object_fails_the_set(signed: dict[str, Any], resolver: KeyResolver) -> None:
    document = {**signed, "proof": [*signed["proof"], "nonsense"]}
    result = _verify(document, resolver)
    assert not result.verified
    assert "proof 2 (verificationMethod None) failed: not a JSON object" in result.check("proof").message


# --- controller binding: exact ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "look_alike"),
    [
        ("did:web:issuer.example.org%3A8443", "did:web:issuer.example.org%3a8443"),
        ("did:web:issuer.example.org", "did:web:issuer.example.org:evil"),
        ("did:web:issuer.example.org", "did:web:ISSUER.example.org"),
    ],
)
def test_a_look_alike_did_web_is_neither_the_issuer_nor_recognised(
    make_credential: MakeCredential, issuer_profile: dict[str, Any], trusted: str, look_alike: str
) -> None:
    # The trusted issuer's key is held; the attacker signs with their own key, published in the look-alike's
    # verificationMethod URL (the 1EdTech <controller>#z6Mk... shortcut).
    real = generate_ed25519()
    resolver = KeyResolver([did_document(trusted, {"ed-1": real.public_key()})])
    attacker = generate_ed25519()
    own = f"{look_alike}#{encode_ed25519_multikey(attacker.public_key())}"
    recognise = {trusted: "Example Music Therapy Institute"}.get

    as_look_alike = _sign(_with_issuer(make_credential, issuer_profile, look_alike), attacker, own)
    result = _verify(as_look_alike, resolver, recognise=recognise)
    assert not result.verified
    assert result.issuer_name is None
    assert result.check("issuer").ok is False
    assert result.check("issuer").message.startswith(f"Issuer not recognised: {look_alike}")

    # Claiming the trusted id while signing with the look-alike's key fails the proof itself.
    as_trusted = _sign(_with_issuer(make_credential, issuer_profile, trusted), attacker, own)
    result = _verify(as_trusted, resolver, recognise=recognise)
    assert not result.verified
    assert "does not match issuer" in result.check("proof").message


def test_a_key_whose_document_claims_the_issuer_as_controller_is_still_not_the_issuers(
    make_credential: MakeCredential, issuer_profile: dict[str, Any], our_did_document: dict[str, Any]
) -> None:
    attacker = generate_ed25519()
    evil = f"{ISSUER_DID}:evil"
    forged = did_document(evil, {"ed-1": attacker.public_key()})
    forged["verificationMethod"][0]["controller"] = ISSUER_DID  # a document may say anything about itself
    resolver = KeyResolver([our_did_document, forged])
    document = _sign(make_credential(), attacker, f"{evil}#ed-1")
    result = _verify(document, resolver)
    assert not result.verified
    assert f"the DID of '{evil}#ed-1' does not match issuer '{ISSUER_DID}'" in result.check("proof").message

    token = encode_jwt(make_credential(), private_key=attacker, kid=f"{evil}#ed-1", algorithm="Ed25519")
    result = _verify(token, resolver)
    assert not result.verified
    assert result.format == "jwt"
    assert "does not match issuer" in result.check("proof").message


def test_an_http_url_issuer_cannot_borrow_our_did_key(
    make_credential: MakeCredential, issuer_profile: dict[str, Any], ed_key: Any, resolver: KeyResolver
) -> None:
    document = _sign(_with_issuer(make_credential, issuer_profile, "https://issuer.example.org"), ed_key, VM)
    result = _verify(document, resolver)
    assert not result.verified
    assert "does not match issuer 'https://issuer.example.org'" in result.check("proof").message


def test_a_did_key_issuer_cannot_be_signed_for_by_another_did_key(
    make_credential: MakeCredential, issuer_profile: dict[str, Any]
) -> None:
    issuer_key, other = generate_ed25519(), generate_ed25519()
    issuer_did = did_key_verification_method(issuer_key.public_key()).partition("#")[0]
    credential = _with_issuer(make_credential, issuer_profile, issuer_did)
    good = _sign(credential, issuer_key, did_key_verification_method(issuer_key.public_key()))
    assert _verify(good, KeyResolver()).verified
    bad = _sign(credential, other, did_key_verification_method(other.public_key()))
    result = _verify(bad, KeyResolver())
    assert not result.verified
    assert "does not match issuer" in result.check("proof").message


def test_a_jwt_kid_must_be_a_key_of_iss_and_issuer_id(make_credential: MakeCredential, ed_key: Any,
                                                      resolver: KeyResolver) -> None:
    assert _verify(encode_jwt(make_credential(), private_key=ed_key, kid=VM, algorithm="Ed25519"), resolver).verified
    other = generate_ed25519()
    kid = did_key_verification_method(other.public_key())
    result = _verify(encode_jwt(make_credential(), private_key=other, kid=kid, algorithm="Ed25519"), resolver)
    assert not result.verified
    assert "does not match issuer" in result.check("proof").message


# --- recognised issuers -------------------------------------------------------------------------------------------


def test_a_recognised_issuer_carries_the_name_we_know_it_by(signed: dict[str, Any], resolver: KeyResolver) -> None:
    asked: list[str] = []

    def recognise(issuer_id: str) -> str | None:
        asked.append(issuer_id)
        return "Institute (trust list)" if issuer_id == ISSUER_DID else None

    document = copy.deepcopy(signed)
    result = _verify(document, resolver, recognise=recognise)
    assert result.verified, result.errors
    assert asked == [ISSUER_DID]
    assert result.issuer_name == "Institute (trust list)" != signed["issuer"]["name"]
    assert result.check("issuer").ok is True
    assert "Institute (trust list)" in result.check("issuer").message


def test_an_unrecognised_issuer_fails_the_issuer_check(signed: dict[str, Any], resolver: KeyResolver) -> None:
    result = _verify(signed, resolver, recognise=lambda issuer_id: None)
    assert not result.verified
    assert result.issuer_name is None
    assert result.check("issuer").ok is False
    assert result.check("issuer").message == f"Issuer not recognised: {ISSUER_DID}"
    assert result.errors == [f"issuer: Issuer not recognised: {ISSUER_DID}"]


def test_a_recognised_id_with_a_key_taken_from_the_credential_is_not_recognised(
    make_credential: MakeCredential, issuer_profile: dict[str, Any]
) -> None:
    partner = "did:web:partner.example"
    attacker = generate_ed25519()
    document = _sign(_with_issuer(make_credential, issuer_profile, partner), attacker,
                     f"{partner}#{encode_ed25519_multikey(attacker.public_key())}")
    assert _verify(document, KeyResolver()).verified  # integrity only: the issuer check is a warning
    result = _verify(document, KeyResolver(), recognise={partner: "Partner"}.get)
    assert not result.verified
    assert result.issuer_name is None
    assert result.check("issuer").message.startswith(f"Issuer not recognised: {partner}: its key is taken from")


def test_without_recognise_the_issuer_check_is_as_before(signed: dict[str, Any], resolver: KeyResolver) -> None:
    result = _verify(signed, resolver)
    assert result.verified
    assert result.issuer_known
    assert result.issuer_name is None
    assert result.check("issuer").ok is True
    unknown = _verify(signed, KeyResolver([]))
    assert not unknown.verified  # our DID document is not held: its key cannot be resolved


# --- dates at the edges of time -----------------------------------------------------------------------------------


def test_dates_at_year_1_and_9999_never_raise(make_credential: MakeCredential, ed_key: Any,
                                              resolver: KeyResolver) -> None:
    credential = make_credential()
    credential["validFrom"] = "0001-01-01T00:00:00Z"
    credential["validUntil"] = "9999-12-31T23:59:59Z"
    document = _sign(credential, ed_key, VM)
    for now in (NOW, EARLIEST, LATEST, datetime(1, 1, 1, 0, 1, tzinfo=UTC)):
        result = verify(document, document_loader=document_loader, resolver=resolver, now=now,
                        max_clock_skew=timedelta(days=2))
        assert result.check("validity").ok is True, (now, result.errors)
    token = encode_jwt(credential, private_key=ed_key, kid=VM, algorithm="Ed25519")
    assert _verify(token, resolver).verified


def test_shift_clamps_instead_of_overflowing() -> None:
    skew = timedelta(minutes=5)
    assert shift(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), skew) == LATEST
    assert shift(datetime(1, 1, 1, tzinfo=UTC), -skew) == EARLIEST
    assert shift(NOW, skew) == NOW + skew
    assert shift(NOW, -skew) == NOW - skew
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 (naive on purpose: read as UTC)
    assert shift(naive, skew) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_validity_turn_at_the_edges() -> None:
    skew = timedelta(minutes=5)
    edges = {"validFrom": "0001-01-01T00:00:00Z", "validUntil": "9999-12-31T23:59:59Z"}
    assert validity_turn(edges, NOW, skew) == LATEST
    future = {"validFrom": "2027-01-01T00:00:00Z"}
    assert validity_turn(future, NOW, skew) == datetime(2026, 12, 31, 23, 55, tzinfo=UTC)
    assert validity_turn({"validFrom": "garbage"}, NOW, skew) is None
    assert validity_turn({"issuanceDate": "2020-01-01T00:00:00Z", "expirationDate": "2030-01-01T00:00:00Z"}, NOW,
                         skew) == datetime(2030, 1, 1, 0, 5, tzinfo=UTC)
    assert validity_turn(None, NOW, skew) is None


def test_a_jwt_with_a_claim_written_twice_is_refused_not_last_wins(resolver: KeyResolver) -> None:
    import base64

    def segment(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    header = segment('{"alg":"EdDSA","kid":"' + VM + '","typ":"JWT"}')
    payload = segment('{"iss":"did:web:evil.example","iss":"' + ISSUER_DID + '","jti":"urn:uuid:1"}')
    result = _verify(f"{header}.{payload}.AAAA", resolver)
    assert not result.verified
    assert result.check("format").ok is False
    assert "duplicate key 'iss' in object at /" in result.check("format").message


# --- the issuer's own record ------------------------------------------------------------------------------------


def _no_loader(url: str, options: Any = None) -> Any:
    raise AssertionError(f"nothing may be canonicalized here (asked for {url})")


def test_a_document_the_issuer_never_issued_fails_before_any_canonicalization(signed: dict[str, Any],
                                                                             resolver: KeyResolver) -> None:
    asked: list[tuple[str, str | None]] = []

    def on_record(kind: str, credential: Any, token: str | None) -> bool | None:
        asked.append((kind, token))
        return False

    result = verify(signed, document_loader=_no_loader, resolver=resolver, now=NOW, on_record=on_record)
    assert not result.verified
    assert [c.name for c in result.checks] == ["format", "issuer"]
    assert result.check("issuer").message.startswith(f"Not issued by this service: {ISSUER_DID} never issued")
    assert asked == [("ldp", None)]


def test_a_document_on_record_passes_without_canonicalizing_but_every_other_check_runs(
        make_credential: MakeCredential, ed_key: Any, resolver: KeyResolver) -> None:
    expired = _sign(
        make_credential(valid_from=NOW - timedelta(days=30), valid_until=NOW - timedelta(days=1)), ed_key, VM
    )
    recognise = {ISSUER_DID: "Our Service"}.get
    result = verify(expired, document_loader=_no_loader, resolver=resolver, now=NOW, recognise=recognise,
                    on_record=lambda kind, credential, token: True)
    assert [c.name for c in result.checks] == ["format", "schema", "context", "proof", "issuer", "validity", "status"]
    assert result.check("proof").ok
    assert "on record" in result.check("proof").message
    assert result.check("issuer").ok
    assert result.issuer_name == "Our Service"
    assert result.check("validity").ok is False
    assert not result.verified


def test_the_record_is_asked_with_the_token_for_a_jwt(signed: dict[str, Any], resolver: KeyResolver,
                                                      rsa_key: Any) -> None:
    token = encode_jwt(signed, private_key=rsa_key, kid=f"{ISSUER_DID}#rsa-1")
    seen: list[tuple[str, str | None]] = []

    def record(kind: str, credential: Mapping[str, Any], t: str | None) -> None:
        seen.append((kind, t))

    verify(token, document_loader=document_loader, resolver=resolver, now=NOW, on_record=record)
    assert seen == [("jwt", token)]


def test_when_the_record_does_not_decide_the_full_verification_runs(signed: dict[str, Any],
                                                                    resolver: KeyResolver) -> None:
    document = copy.deepcopy(signed)
    document["name"] = "Tampered"
    result = _verify(document, resolver, on_record=lambda kind, credential, token: None)
    assert not result.verified
    assert result.check("proof").ok is False
