"""eddsa-rdfc-2022 against the W3C and 1EdTech test vectors, step by step."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials_support import OB3_LDP, W3C_EDDSA, load_json
from issuer.credentials import (
    OfflineDocumentLoader,
    ProofError,
    b58decode,
    b58encode,
    canonical_document,
    canonical_proof_configuration,
    canonicalize,
    decode_ed25519_multikey,
    document_loader,
    hash_data,
    proof_configuration,
    sign,
    verify_proof,
)
from issuer.credentials.multikey import decode_ed25519_secret_multikey

STEPS = W3C_EDDSA / "eddsa-rdfc-2022"


def _text(name: str) -> str:
    path: Path = STEPS / name
    return path.read_text().strip()


@pytest.fixture(scope="module")
def w3c_key() -> ed25519.Ed25519PrivateKey:
    return decode_ed25519_secret_multikey(load_json(W3C_EDDSA / "keyPair.json")["privateKeyMultibase"])


@pytest.fixture(scope="module")
def w3c_config() -> dict[str, Any]:
    config: dict[str, Any] = load_json(STEPS / "proofConfigDataInt.json")
    return config


def test_w3c_proof_configuration_is_built_as_the_vector(w3c_config: dict[str, Any]) -> None:
    unsigned = load_json(W3C_EDDSA / "unsigned.json")
    built = proof_configuration(
        unsigned, verification_method=w3c_config["verificationMethod"], created=w3c_config["created"]
    )
    assert built == w3c_config
    assert list(built) == list(w3c_config)


def test_w3c_canonical_forms_hashes_and_combined_hash(
    examples_loader: OfflineDocumentLoader, w3c_config: dict[str, Any]
) -> None:
    unsigned = load_json(W3C_EDDSA / "unsigned.json")
    canonical_doc = canonical_document(unsigned, document_loader=examples_loader)
    canonical_config = canonical_proof_configuration(w3c_config, document_loader=examples_loader)
    assert canonical_doc == (STEPS / "canonDocDataInt.txt").read_text()
    assert canonical_config == (STEPS / "proofCanonDataInt.txt").read_text()
    assert hashlib.sha256(canonical_doc.encode()).hexdigest() == _text("docHashDataInt.txt")
    assert hashlib.sha256(canonical_config.encode()).hexdigest() == _text("proofHashDataInt.txt")
    combined = hash_data(canonical_proof_config=canonical_config, canonical_document=canonical_doc)
    assert combined.hex() == _text("combinedHashDataInt.txt")


def test_w3c_signature_hex_and_base58(
    examples_loader: OfflineDocumentLoader, w3c_key: ed25519.Ed25519PrivateKey, w3c_config: dict[str, Any]
) -> None:
    signature = w3c_key.sign(bytes.fromhex(_text("combinedHashDataInt.txt")))
    assert signature.hex() == _text("sigHexDataInt.txt")
    assert b58encode(signature) == _text("sigBTC58DataInt.txt").removeprefix("z")
    assert b58decode(_text("sigBTC58DataInt.txt").removeprefix("z")) == signature


def test_w3c_resigning_reproduces_signed_vector_byte_for_byte(
    examples_loader: OfflineDocumentLoader, w3c_key: ed25519.Ed25519PrivateKey, w3c_config: dict[str, Any]
) -> None:
    signed = sign(
        load_json(W3C_EDDSA / "unsigned.json"),
        private_key=w3c_key,
        verification_method=w3c_config["verificationMethod"],
        created=w3c_config["created"],
        document_loader=examples_loader,
    )
    assert isinstance(signed["proof"], list)
    assert len(signed["proof"]) == 1
    # The vector uses the compacted single-proof form; we always emit an array.
    as_vector = {**signed, "proof": signed["proof"][0]}
    expected_text = (STEPS / "signedDataInt.json").read_text()
    assert as_vector == json.loads(expected_text)
    assert json.dumps(as_vector, indent=2) == expected_text.rstrip("\n")


def test_w3c_signed_vector_verifies_and_a_changed_byte_does_not(examples_loader: OfflineDocumentLoader) -> None:
    signed = load_json(STEPS / "signedDataInt.json")
    public = decode_ed25519_multikey(load_json(W3C_EDDSA / "keyPair.json")["publicKeyMultibase"])
    verify_proof(signed, signed["proof"], public_key=public, document_loader=examples_loader)
    signed["credentialSubject"]["alumniOf"] = "The School of Examples!"
    with pytest.raises(ProofError, match="signature does not match"):
        verify_proof(signed, signed["proof"], public_key=public, document_loader=examples_loader)


@pytest.mark.parametrize(("kind", "folder"), [("ob3", "obv3p0"), ("clr2", "clrv2p0")])
def test_1edtech_ldp_vector_steps_and_resigning(
    kind: str, folder: str, published_key: ed25519.Ed25519PrivateKey
) -> None:
    data = load_json(OB3_LDP / f"{kind}-key-and-hashes.json")
    credential = load_json(OB3_LDP / f"{kind}-credential.json")
    proof = load_json(OB3_LDP / f"{kind}-proof.json")
    config = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": credential["@context"]}
    canonical_doc = canonical_document(credential, document_loader=document_loader)
    canonical_config = canonical_proof_configuration(config, document_loader=document_loader)
    assert canonical_doc == (OB3_LDP / "test-vectors" / folder / "document-canon.txt").read_text()
    assert canonical_config == (OB3_LDP / "test-vectors" / folder / "proof-canon.txt").read_text()
    assert hashlib.sha256(canonical_doc.encode()).hexdigest() == data["Document hash (hex)"]
    assert hashlib.sha256(canonical_config.encode()).hexdigest() == data["Proof hash (hex)"]
    combined = hash_data(canonical_proof_config=canonical_config, canonical_document=canonical_doc)
    assert combined.hex() == data["Data to sign (hex)"]
    signed = sign(
        credential,
        private_key=published_key,
        verification_method=proof["verificationMethod"],
        created=proof["created"],
        document_loader=document_loader,
    )
    assert signed["proof"][0]["proofValue"] == proof["proofValue"]
    assert b58decode(proof["proofValue"][1:]).hex() == data["Signature (hex)"]
    published = load_json(OB3_LDP / f"{kind}-signed.json")
    published_proof = published["proof"][0] if isinstance(published["proof"], list) else published["proof"]
    verify_proof(
        published,
        published_proof,
        public_key=decode_ed25519_multikey(data["publicKeyMultibase"]),
        document_loader=document_loader,
    )


def test_proof_template_substitution_equals_full_canonicalization() -> None:
    credential = load_json(OB3_LDP / "ob3-credential.json")
    base = load_json(OB3_LDP / "ob3-proof.json")
    base.pop("proofValue")
    for created in ("2010-01-01T19:23:24Z", "2031-12-31T23:59:59Z", "2024-02-29T00:00:00.123+05:30"):
        config = {**base, "created": created, "@context": credential["@context"]}
        fast = canonical_proof_configuration(config, document_loader=document_loader)
        assert fast == canonicalize(config, document_loader=document_loader)
        assert f'"{created}"' in fast
