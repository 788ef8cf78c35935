"""verify() answers every input, never raises, and bounds what it reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from credentials_support import ISSUER_DID, NOW
from issuer.credentials import Check, KeyResolver, document_loader, sign, verify


def _verify(data: Any, resolver: KeyResolver | None = None, **kwargs: Any) -> Any:
    return verify(data, document_loader=document_loader, resolver=resolver or KeyResolver(), now=NOW, **kwargs)


@pytest.fixture
def signed(make_credential: Callable[..., dict[str, Any]], ed_key: Any) -> dict[str, Any]:
    return sign(make_credential(), private_key=ed_key, verification_method=f"{ISSUER_DID}#ed-1", created=NOW,
                document_loader=document_loader)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("", "neither"),
        ("not json", "neither"),
        ("{", "not well-formed JSON"),
        ("[1, 2]", "JSON object"),
        ('{"a": 1, "a": 2}', "duplicate JSON member 'a'"),
        ('{"a": NaN}', "NaN is not JSON"),
        (b"\xff\xfe", "UTF-8"),
        ("a.b.c", "not a compact JWS"),
        ("x" * 1_000_001, "larger than"),
        (b"{" * 1_000_001, "larger than"),
        (12, "cannot verify a int"),
        (None, "cannot verify a NoneType"),
        ("[" * 5000 + "]" * 5000, "deeper than 64"),
        ("{" + '"a":{' * 100 + "}" * 101, "deeper than 64"),
    ],
)
def test_bad_input_is_an_answer_not_an_exception(data: Any, words: str) -> None:
    result = _verify(data)
    assert not result.verified
    assert result.checks[0].name == "format"
    assert not result.checks[0].ok
    assert words in result.checks[0].message


def test_deeply_nested_mapping_is_refused() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    assert "deeper" in _verify(deep).check("format").message


def test_text_and_bytes_and_dict_give_the_same_verdict(signed: dict[str, Any], resolver: KeyResolver) -> None:
    text = json.dumps(signed)
    verdicts = [_verify(form, resolver).verified for form in (signed, text, text.encode())]
    assert verdicts == [True, True, True]


def test_a_credential_without_subject_identification_fails_schema(
    signed: dict[str, Any], resolver: KeyResolver
) -> None:
    anonymous = json.loads(json.dumps(signed))
    del anonymous["credentialSubject"]["identifier"]
    result = _verify(anonymous, resolver)
    assert "id or at least one identifier" in result.check("schema").message


def test_a_status_checker_that_raises_fails_status_only(make_credential: Callable[..., dict[str, Any]], ed_key: Any,
                                                        resolver: KeyResolver) -> None:
    entry = {
        "id": "https://issuer.example.org/status/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://issuer.example.org/status/1",
    }
    credential = sign(make_credential(credential_status=[entry]), private_key=ed_key,
                      verification_method=f"{ISSUER_DID}#ed-1", created=NOW, document_loader=document_loader)

    def broken(_: Any) -> Check:
        raise RuntimeError("status list unavailable")

    result = _verify(credential, resolver, status_checker=broken)
    assert [c.name for c in result.checks if c.ok is False] == ["status"]
    assert "status list unavailable" in result.check("status").message
    good = _verify(credential, resolver, status_checker=lambda c: Check("status", True, "not revoked"))
    assert good.verified
    assert good.check("status").message == "not revoked"
    foreign = _verify(credential, resolver, status_checker=lambda c: Check("status", None, "another issuer's list"))
    assert foreign.verified
    assert foreign.check("status").ok is None
    assert "status: another issuer's list" in foreign.warnings
    unhandled = _verify(credential, resolver, status_checker=lambda c: None)
    assert unhandled.verified
    assert unhandled.check("status").ok is None


def test_garbage_in_every_field_never_raises(resolver: KeyResolver) -> None:
    for credential in (
        {"@context": 5, "proof": "x", "issuer": [], "validFrom": 7, "credentialSubject": "me"},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "proof": [None, 1, {"type": "DataIntegrityProof",
         "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod", "verificationMethod": 5}]},
        {"credentialSchema": [{"type": "1EdTechJsonSchemaValidator2019", "id": {"x": 1}}]},
    ):
        result = _verify(credential, resolver)
        assert not result.verified
        assert result.errors
