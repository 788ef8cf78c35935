"""did:web, DID documents, JWKS and offline key resolution."""

from __future__ import annotations

from typing import Any

import pytest

from issuer.credentials import (
    KeyResolutionError,
    KeyResolver,
    UnknownIssuer,
    did_document,
    did_key_verification_method,
    did_web_from_base_url,
    encode_ed25519_multikey,
    generate_ed25519,
    jwks,
    public_jwk,
)


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("http://127.0.0.1:5000", "did:web:127.0.0.1%3A5000"),
        ("https://example.org", "did:web:example.org"),
        ("https://Example.ORG/", "did:web:example.org"),
        ("https://example.org/issuers/7", "did:web:example.org:issuers:7"),
        ("https://example.org:8443/a/b/", "did:web:example.org%3A8443:a:b"),
    ],
)
def test_did_web_from_base_url(url: str, did: str) -> None:
    assert did_web_from_base_url(url) == did


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org", "https://example.org/?q=1", "https:///path"])
def test_did_web_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match="did:web"):
        did_web_from_base_url(url)


def test_did_document_lists_every_key_under_assertion_method(ed_key: Any, rsa_key: Any) -> None:
    retired = generate_ed25519()
    document = did_document("did:web:example.org", {"ed-2": ed_key.public_key(), "ed-1": retired.public_key(),
                                                    "rsa-1": rsa_key.public_key()})
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/jwk/v1",
    ]
    assert document["verificationMethod"][0] == {
        "id": "did:web:example.org#ed-2",
        "type": "Multikey",
        "controller": "did:web:example.org",
        "publicKeyMultibase": encode_ed25519_multikey(ed_key.public_key()),
    }
    assert document["verificationMethod"][2]["type"] == "JsonWebKey"
    assert document["verificationMethod"][2]["publicKeyJwk"] == public_jwk(rsa_key.public_key())
    assert document["assertionMethod"] == [
        "did:web:example.org#ed-2",
        "did:web:example.org#ed-1",
        "did:web:example.org#rsa-1",
    ]
    ed_only = did_document("did:web:example.org", {"ed-1": encode_ed25519_multikey(retired.public_key())})
    assert ed_only["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def test_did_document_is_valid_json_ld() -> None:
    from issuer.credentials import canonicalize, document_loader

    document = did_document("did:web:example.org", {"ed-1": generate_ed25519().public_key(),
                                                    "rsa-1": public_jwk(generate_ed25519().public_key())})
    assert "did:web:example.org#ed-1" in canonicalize(document, document_loader=document_loader)


def test_jwks_carries_alg_use_and_full_kid(ed_key: Any, rsa_key: Any) -> None:
    keys = jwks({"ed-1": ed_key.public_key(), "rsa-1": rsa_key.public_key()}, did="did:web:example.org")["keys"]
    assert [(k["kid"], k["alg"], k["use"]) for k in keys] == [
        ("did:web:example.org#ed-1", "EdDSA", "sig"),
        ("did:web:example.org#rsa-1", "RS256", "sig"),
    ]


def test_every_jwks_key_is_kept_by_pyjwt_and_imported_by_joserfc(ed_key: Any, rsa_key: Any) -> None:
    """PyJWT drops from a PyJWKSet any key whose ``alg`` it does not know (as it did RFC 9864's ``Ed25519``)."""
    import jwt
    from joserfc.jwk import JWKRegistry, KeySet

    key_set = jwks({"ed-1": ed_key.public_key(), "rsa-1": rsa_key.public_key()}, did="did:web:example.org")
    kept = jwt.PyJWKSet.from_dict(key_set)
    assert [(k.key_id, k.algorithm_name) for k in kept.keys] == [
        ("did:web:example.org#ed-1", "EdDSA"), ("did:web:example.org#rsa-1", "RS256")]
    message = b"signed by the issuer"
    ed_algorithm = jwt.algorithms.get_default_algorithms()["EdDSA"]
    assert ed_algorithm.verify(message, kept["did:web:example.org#ed-1"].key, ed_key.sign(message))
    imported = [JWKRegistry.import_key(jwk) for jwk in key_set["keys"]]
    assert [(k.kid, k.alg, k.key_type) for k in imported] == [
        ("did:web:example.org#ed-1", "EdDSA", "OKP"), ("did:web:example.org#rsa-1", "RS256", "RSA")]
    assert len(KeySet.import_key_set({"keys": key_set["keys"]}).keys) == 2


def test_resolver_uses_known_documents_did_key_and_the_fragment_shortcut(ed_key: Any) -> None:
    document = did_document("did:web:example.org", {"ed-1": ed_key.public_key()})
    resolver = KeyResolver([document])
    known = resolver.resolve("did:web:example.org#ed-1")
    assert known.source == "document"
    assert known.controller == "did:web:example.org"
    assert known.public_key == ed_key.public_key()
    assert "assertionMethod" in known.relationships

    other = generate_ed25519().public_key()
    by_did_key = resolver.resolve(did_key_verification_method(other))
    assert by_did_key.source == "did:key"
    assert by_did_key.public_key == other

    multikey = encode_ed25519_multikey(other)
    shortcut = resolver.resolve(f"https://issuer.example/1#{multikey}")
    assert shortcut.source == "fragment"
    assert shortcut.controller == "https://issuer.example/1"
    # a known document is authoritative: no shortcut around it
    with pytest.raises(KeyResolutionError, match="no verification method"):
        resolver.resolve(f"did:web:example.org#{multikey}")
    with pytest.raises(UnknownIssuer):
        KeyResolver(allow_fragment_shortcut=False).resolve(f"https://issuer.example/1#{multikey}")


def test_resolver_never_fetches_unknown_controllers() -> None:
    for method in ("did:web:unknown.example#key-1", "https://unknown.example/keys/1", "did:example:123#k"):
        with pytest.raises(UnknownIssuer, match="not resolvable offline"):
            KeyResolver().resolve(method)


def test_relative_ids_and_embedded_methods_in_documents(ed_key: Any) -> None:
    multikey = encode_ed25519_multikey(ed_key.public_key())
    document = {
        "id": "did:web:example.org",
        "assertionMethod": [{"id": "#embedded", "type": "Multikey", "controller": "did:web:example.org",
                             "publicKeyMultibase": multikey}],
        "verificationMethod": [{"id": "#auth", "type": "Multikey", "controller": "did:web:example.org",
                                "publicKeyMultibase": multikey}],
        "authentication": ["#auth"],
    }
    resolver = KeyResolver([document])
    assert resolver.resolve("did:web:example.org#embedded").relationships == frozenset({"assertionMethod"})
    assert resolver.resolve("did:web:example.org#auth").relationships == frozenset({"authentication"})
