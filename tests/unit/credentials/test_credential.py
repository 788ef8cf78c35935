"""Our own level credential: built, validated, signed, verified; every tampering is caught."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from credentials_support import ISSUER_DID, NOW
from issuer.credentials import (
    ACHIEVEMENT_CREDENTIAL_SCHEMA,
    KeyResolver,
    UndefinedTermError,
    did_document,
    document_loader,
    generate_ed25519,
    identity_hash,
    sign,
    validate,
    verify,
)

VM = f"{ISSUER_DID}#ed-1"
MakeCredential = Callable[..., dict[str, Any]]


@pytest.fixture
def signed(make_credential: MakeCredential, ed_key: Any) -> dict[str, Any]:
    return sign(
        make_credential(), private_key=ed_key, verification_method=VM, created=NOW, document_loader=document_loader
    )


def _verify(document: Any, resolver: KeyResolver, **kwargs: Any) -> Any:
    return verify(document, document_loader=document_loader, resolver=resolver, now=NOW, **kwargs)


def test_identity_hash_is_sha256_of_email_plus_salt() -> None:
    expected = "sha256$" + hashlib.sha256(b"conformance@imsglobal.orgpepper").hexdigest()
    assert identity_hash("conformance@imsglobal.org", "pepper") == expected


def test_built_credential_has_the_ob3_shape(make_credential: MakeCredential) -> None:
    credential = make_credential(recipient_did="did:example:learner")
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["id"] == "did:example:learner"
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": identity_hash("therapist@example.org", "c2f1e0d9b8a7"),
            "salt": "c2f1e0d9b8a7",
        }
    ]
    assert len(subject["achievement"]["alignment"]) == 11
    assert credential["credentialSchema"] == [
        {"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    assert credential["validFrom"] == "2026-05-19T09:30:00Z"
    assert "proof" not in credential
    assert "credentialStatus" not in credential
    assert "result" not in subject
    assert validate(credential) == []


def test_subject_id_names_the_subject_and_a_proved_did_takes_its_place(make_credential: MakeCredential) -> None:
    stable = "urn:uuid:0b5e3c1a-58f4-4f3e-9d7c-2a4b6c8d0e1f"
    credential = make_credential(subject_id=stable)
    assert credential["credentialSubject"]["id"] == stable
    assert credential["credentialSubject"]["identifier"][0]["identityType"] == "emailAddress"  # kept for e-mail checks
    assert validate(credential) == []
    holder = ("did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1s"
              "cndJYWFQY0hVUm8ifQ")
    bound = make_credential(subject_id=stable, recipient_did=holder)
    assert bound["credentialSubject"]["id"] == holder
    assert validate(bound) == []
    assert "id" not in make_credential()["credentialSubject"]


@pytest.mark.parametrize("bad", ["therapist@example.org", "urn:uuid:not-a-uuid", "did:example:x#key-1",
                                 "urn:uuid:0b5e3c1a-58f4-4f3e-9d7c-2a4b6c8d0e1f\n", " did:example:x", "did:Example:x"])
def test_a_subject_id_that_is_no_uri_is_refused(make_credential: MakeCredential, bad: str) -> None:
    with pytest.raises(ValueError, match="subject id"):
        make_credential(subject_id=bad)
    with pytest.raises(ValueError, match="subject id"):
        make_credential(recipient_did=bad)


def test_dates_are_utc_without_microseconds_and_naive_dates_are_refused(make_credential: MakeCredential) -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    credential = make_credential(valid_from=local, valid_until=None, awarded_date=local)
    assert credential["validFrom"] == credential["awardedDate"] == "2026-01-02T01:04:05Z"
    assert "validUntil" not in credential
    with pytest.raises(ValueError, match="time zone"):
        make_credential(valid_from=datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose: refused)


@pytest.mark.parametrize("bad_id", ["42", "urn:uuid:not-a-uuid", "ftp://example.org/x", ""])
def test_credential_id_must_be_urn_uuid_or_url(make_credential: MakeCredential, bad_id: str) -> None:
    with pytest.raises(ValueError, match="credential id"):
        make_credential(credential_id=bad_id)


def test_one_credential_status_is_an_object_more_are_refused(make_credential: MakeCredential) -> None:
    entry = {
        "id": "https://issuer.example.org/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://issuer.example.org/status/1",
    }
    credential = make_credential(credential_status=[entry])
    assert credential["credentialStatus"] == entry
    assert validate(credential) == []
    with pytest.raises(ValueError, match="one credentialStatus"):
        make_credential(credential_status=[entry, {**entry, "statusPurpose": "suspension"}])


def test_builder_shares_nothing_with_its_arguments(
    make_credential: MakeCredential, level_achievement: dict[str, Any]
) -> None:
    credential = make_credential()
    credential["credentialSubject"]["achievement"]["alignment"].clear()
    assert len(level_achievement["alignment"]) == 11


def test_our_credential_signs_verifies_and_passes_the_schema(signed: dict[str, Any], resolver: KeyResolver) -> None:
    assert signed["proof"][0]["verificationMethod"] == VM
    assert signed["proof"][0]["proofValue"].startswith("z")
    result = _verify(signed, resolver)
    assert result.verified, result.errors
    assert result.issuer_known
    assert result.warnings == []
    assert "achievementcredential" in result.check("schema").message
    assert result.credential == signed


def test_signing_twice_makes_a_proof_set(signed: dict[str, Any], ed_key: Any, resolver: KeyResolver) -> None:
    again = sign(signed, private_key=ed_key, verification_method=VM, created=NOW, document_loader=document_loader)
    assert len(again["proof"]) == 2
    assert again["proof"][0] == signed["proof"][0]
    assert _verify(again, resolver).verified


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "Music Therapists: Advanced"),
        (("id",), "urn:uuid:00000000-0000-4000-8000-000000000000"),
        (("validFrom",), "2026-05-19T09:30:01Z"),
        (("issuer", "name"), "Someone Else"),
        (("credentialSubject", "identifier", 0, "identityHash"), "sha256$" + "0" * 64),
        (("credentialSubject", "achievement", "criteria", "narrative"), "Nothing to it."),
        (("credentialSubject", "achievement", "alignment", 7, "targetCode"), "29-1129.02-EME-99"),
        (("evidence", 0, "narrative"), "Observed in one session."),
        (("type",), ["VerifiableCredential", "OpenBadgeCredential", "EndorsementCredential"]),
    ],
)
def test_changing_any_signed_field_fails_the_proof(
    signed: dict[str, Any], resolver: KeyResolver, path: tuple[Any, ...], value: Any
) -> None:
    tampered = copy.deepcopy(signed)
    _set(tampered, path, value)
    result = _verify(tampered, resolver)
    assert not result.verified
    assert "proof" in {c.name for c in result.checks if c.ok is False}
    assert "signature does not match" in result.check("proof").message


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("proofValue", None, "signature does not match"),
        ("verificationMethod", "did:web:issuer.example.org#rsa-1", "Ed25519 public key"),
        ("verificationMethod", "did:web:evil.example#ed-1", "not resolvable"),
        ("verificationMethod", "did:web:issuer.example.org#missing", "no verification method"),
        ("created", "2026-05-20T09:30:01Z", "signature does not match"),
        ("proofPurpose", "authentication", "proofPurpose"),
        ("cryptosuite", "eddsa-2022", "unsupported proof type"),
        ("type", "Ed25519Signature2020", "unsupported proof type"),
    ],
)
def test_changing_the_proof_fails_naming_why(
    signed: dict[str, Any], resolver: KeyResolver, member: str, value: Any, words: str
) -> None:
    tampered = copy.deepcopy(signed)
    proof = tampered["proof"][0]
    if member == "proofValue":
        value = proof["proofValue"][:-2] + ("11" if proof["proofValue"][-2:] != "11" else "22")
    proof[member] = value
    result = _verify(tampered, resolver)
    assert not result.verified
    assert words in result.check("proof").message


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (
            ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "1EdTechJsonSchemaValidator2019",
        ),
        (
            [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
                "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
            ],
            "'awardedDate'",
        ),
        (
            [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
                "https://evil.example/ctx.jsonld",
            ],
            "evil.example",
        ),
    ],
)
def test_changing_the_context_fails(
    signed: dict[str, Any], resolver: KeyResolver, context: list[str], words: str
) -> None:
    tampered = {**signed, "@context": context}
    result = _verify(tampered, resolver)
    assert not result.verified
    assert any(words in check.message for check in result.checks if check.ok is False), result.errors


def test_an_equivalent_context_or_type_alias_gives_the_same_rdf_so_still_verifies(
    signed: dict[str, Any], resolver: KeyResolver
) -> None:
    # RDFC signs meaning, not JSON: an alias of the same IRI is the same credential.
    alias = copy.deepcopy(signed)
    alias["type"] = ["VerifiableCredential", "AchievementCredential"]
    assert _verify(alias, resolver).verified


def test_undefined_property_before_signing_is_refused_naming_it(make_credential: MakeCredential, ed_key: Any) -> None:
    credential = make_credential()
    credential["credentialSubject"]["supervisorNotes"] = "not in any context"
    with pytest.raises(UndefinedTermError, match="supervisorNotes"):
        sign(credential, private_key=ed_key, verification_method=VM, created=NOW, document_loader=document_loader)


def test_undefined_property_after_signing_is_refused_naming_it(signed: dict[str, Any], resolver: KeyResolver) -> None:
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["grade"] = "A+"
    result = _verify(tampered, resolver)
    assert not result.verified
    assert "'grade'" in result.check("context").message
    assert "proof" in {c.name for c in result.checks if c.ok is False}


def test_a_retired_key_still_in_the_did_document_verifies(make_credential: MakeCredential) -> None:
    retired, current = generate_ed25519(), generate_ed25519()
    old = sign(make_credential(), private_key=retired, verification_method=f"{ISSUER_DID}#ed-old",
               created=NOW - timedelta(days=400), document_loader=document_loader)
    document = did_document(ISSUER_DID, {"ed-old": retired.public_key(), "ed-new": current.public_key()})
    assert _verify(old, KeyResolver([document])).verified
    dropped = did_document(ISSUER_DID, {"ed-new": current.public_key()})
    assert "no verification method" in _verify(old, KeyResolver([dropped])).check("proof").message


def test_unknown_context_fails_with_sockets_blocked(
    make_credential: MakeCredential, ed_key: Any, resolver: KeyResolver
) -> None:
    credential = make_credential()
    credential["@context"] = [*credential["@context"], "https://w3id.org/citizenship/v4rc1"]
    result = _verify(credential, resolver)
    assert "citizenship/v4rc1" in result.check("context").message


def test_expired_and_not_yet_valid_with_clock_skew(signed: dict[str, Any], resolver: KeyResolver) -> None:
    valid_from = datetime(2026, 5, 19, 9, 30, tzinfo=UTC)
    valid_until = NOW + timedelta(days=365)
    assert verify(
        signed, document_loader=document_loader, resolver=resolver, now=valid_from - timedelta(minutes=4)
    ).verified
    early = verify(signed, document_loader=document_loader, resolver=resolver, now=valid_from - timedelta(minutes=6))
    assert "not yet valid" in early.check("validity").message
    late = verify(signed, document_loader=document_loader, resolver=resolver, now=valid_until + timedelta(minutes=6))
    assert late.check("validity").message.startswith("Expired on ")
    assert verify(
        signed, document_loader=document_loader, resolver=resolver, now=valid_until + timedelta(minutes=4)
    ).verified
