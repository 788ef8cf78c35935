"""The 1EdTech validator samples (vectors/SOURCES.md) as regression fixtures for verify()."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials_support import OB3_LDP, VALIDATOR, load_json
from issuer.credentials import (
    Check,
    KeyResolver,
    VerificationResult,
    decode_ed25519_multikey,
    document_loader,
    sign,
    verify,
    verify_proof,
)

WHEN = datetime(2025, 1, 1, tzinfo=UTC)
PUBLISHED_MULTIKEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"


def _verify(relative: str, resolver: KeyResolver | None = None, **kwargs: Any) -> VerificationResult:
    path = VALIDATOR / relative if not relative.startswith("ldp:") else OB3_LDP / relative[4:]
    return verify(
        path.read_text(), document_loader=document_loader, resolver=resolver or KeyResolver(), now=WHEN, **kwargs
    )


def _failed(result: VerificationResult) -> set[str]:
    return {check.name for check in result.checks if check.ok is False}


@pytest.mark.parametrize(
    "sample",
    [
        "ob30/simple.json",
        "ob30/simple-context-alias.json",
        "ob30/simple-context-version.json",
        "ob30/simple-did-web-method.json",
        "ob30/endorsement-valid.json",
        "ob30/complete.json",
        "ob30/bit-string-list/testlist",
        "clr20/simple.json",
        "ldp:ob3-signed.json",
        "ldp:clr2-signed.json",
    ],
)
def test_valid_samples_verify_with_the_fragment_key(sample: str) -> None:
    result = _verify(sample)
    assert result.verified, result.errors
    assert result.format == "ldp"
    assert [c.name for c in result.checks] == ["format", "schema", "context", "proof", "issuer", "validity", "status"]
    # the key came from the verificationMethod itself: integrity, not identity
    assert not result.issuer_known
    assert result.check("issuer").ok is None  # a warning, not a failure
    assert any("not known" in warning for warning in result.warnings)


def test_did_web_method_sample_with_the_issuers_document_known() -> None:
    controller = "https://1edtech.edu/issuers/565049"
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": controller,
        "verificationMethod": [
            {"id": f"{controller}#{PUBLISHED_MULTIKEY}", "type": "Multikey", "controller": controller,
             "publicKeyMultibase": PUBLISHED_MULTIKEY}
        ],
        "assertionMethod": [f"#{PUBLISHED_MULTIKEY}"],
    }
    result = _verify("ob30/simple-did-web-method.json", KeyResolver([document]))
    assert result.verified, result.errors
    assert result.issuer_known
    assert "is known" in result.check("issuer").message
    not_asserting = {**document, "assertionMethod": []}
    result = _verify("ob30/simple-did-web-method.json", KeyResolver([not_asserting]))
    assert "assertionMethod" in result.check("proof").message


@pytest.mark.parametrize(
    ("sample", "check", "words"),
    [
        ("ob30/simple-err-proof-value.json", "proof", "signature does not match"),
        ("ob30/simple-err-proof-method.json", "proof", "not ed25519-pub"),
        ("ob30/simple-err-expired.json", "validity", "Expired on"),
        ("ob30/simple-err-issued.json", "validity", "not yet valid"),
        ("ob30/simple-err-context.json", "context", "first @context"),
        ("ob30/simple-err-type.json", "context", "OtherCredential"),
        ("ob30/simple-err-issuer.json", "issuer", "no issuer"),
        ("ob30/simple-err-credential-subject-type.json", "context", "'achievement'"),
        ("ob30/simple-err-evidence-type.json", "context", "'audience'"),
        ("ob30/simple-noproof.json", "proof", "no proof"),
        ("ob30/simple-eddsa-2022.json", "proof", "unsupported proof type"),
        ("ob30/credential-status-revoked.json", "proof", "Ed25519Signature2020"),
        ("ob30/simple-did-key-method.json", "proof", "does not match issuer"),
        # The 1EdTech validator passes it on its second proof; every proof of a set must verify (issue 14),
        # and the first one has no key and no signature.
        (
            "ob30/simple-multiple-proofs.json",
            "proof",
            (
                "1 of 2 proofs did not verify: proof 1 (verificationMethod None) failed: "
                "unsupported proof type 'SomeProofType'"
            ),
        ),
        ("ob30/simple.jwt", "proof", "no kid"),
        ("clr20/simple.jwt", "proof", "embeds its own key (jwk)"),
    ],
)
def test_invalid_samples_fail_the_named_check(sample: str, check: str, words: str) -> None:
    result = _verify(sample)
    assert not result.verified
    assert check in _failed(result)
    assert words in result.check(check).message


def test_expired_sample_fails_only_on_validity() -> None:
    assert _failed(_verify("ob30/simple-err-expired.json")) == {"validity"}


def test_did_key_sample_signature_is_good_but_its_key_is_not_the_issuers() -> None:
    # The 1EdTech validator accepts it; we require controller == issuer (as Digital Bazaar's vc does).
    document = load_json(VALIDATOR / "ob30" / "simple-did-key-method.json")
    proof = document["proof"][0]
    verify_proof(
        document, proof, public_key=decode_ed25519_multikey(PUBLISHED_MULTIKEY), document_loader=document_loader
    )


@pytest.mark.parametrize("sample", ["ob30/bit-string-list/credential-status-revoked.json",
                                    "ob30/bit-string-list/credential-status-revoked-blank-nodes.json"])
def test_revoked_sample_fails_on_status_through_the_injected_checker(sample: str) -> None:
    seen: list[Any] = []

    def checker(credential: Any) -> Check:
        seen.append(credential["credentialStatus"]["statusListIndex"])
        return Check("status", False, "revoked (bit 23 is set)")

    result = _verify(sample, status_checker=checker)
    assert seen == [23]
    assert _failed(result) == {"status"}
    unchecked = _verify(sample)
    assert unchecked.verified
    assert "not checked" in unchecked.check("status").message
    assert unchecked.check("status").ok is None
    assert any("status not checked" in warning for warning in unchecked.warnings)


@pytest.mark.parametrize(
    "sample",
    [
        "ob30/simple.json",
        "ob30/simple-did-key-method.json",
        "ob30/simple-did-web-method.json",
        "ob30/bit-string-list/credential-status-revoked.json",
        "ob30/bit-string-list/testlist",
        "clr20/simple.json",
    ],
)
def test_resigning_with_the_published_key_reproduces_the_proof_value(
    sample: str, published_key: ed25519.Ed25519PrivateKey
) -> None:
    document = load_json(VALIDATOR / sample)
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
    proof = proofs[-1]
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    signed = sign(
        unsigned,
        private_key=published_key,
        verification_method=proof["verificationMethod"],
        created=proof["created"],
        document_loader=document_loader,
    )
    assert signed["proof"][0]["proofValue"] == proof["proofValue"]
