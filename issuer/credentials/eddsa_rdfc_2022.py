"""Data Integrity ``DataIntegrityProof`` with the ``eddsa-rdfc-2022`` cryptosuite.

W3C VC Data Integrity EdDSA Cryptosuites v1.0, section 3.3 (eddsa-rdfc-2022):
transformation = RDFC-1.0 canonicalization of the document without ``proof``;
proof configuration = the proof options without ``proofValue`` and with the
document's ``@context``; hashing = SHA-256(canonical proof configuration) ||
SHA-256(canonical document); serialization = Ed25519 signature of those 64
bytes; ``proofValue`` = ``"z"`` + base58btc(signature).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from issuer.credentials.base58 import b58decode, b58encode
from issuer.credentials.canonicalize import DocumentLoader, canonicalize
from issuer.credentials.credential import format_datetime
from issuer.credentials.errors import KeyFormatError, ProofError, SigningError

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ASSERTION_METHOD = "assertionMethod"
SIGNATURE_LENGTH = 64
_XSD_DATETIME = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_CREATED_PLACEHOLDER = "2000-01-01T00:00:00Z"
_MISSING: Any = object()



def unsecured_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its ``proof`` (what every proof of a proof set signs)."""
    return {key: value for key, value in document.items() if key != "proof"}


def proof_configuration(
    document: Mapping[str, Any],
    *,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """The proof options to sign (VC-DI-EdDSA 3.3.5): no ``proofValue``, the document's ``@context``.

    Args:
        document: the credential (its ``@context`` is copied).
        verification_method: the key's id (DID URL or URL).
        created: aware datetime (formatted as XML dateTime, UTC) or a ready string.
        proof_purpose: ``assertionMethod`` for credentials.
    """
    if "@context" not in document:
        raise SigningError("the document has no @context")
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created if isinstance(created, str) else format_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    config["@context"] = document["@context"]
    return config


def canonical_document(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> str:
    """RDFC-1.0 N-Quads of the document without ``proof`` (VC-DI-EdDSA 3.3.1 transformation)."""
    return canonicalize(unsecured_document(document), document_loader=document_loader)


def canonical_proof_configuration(proof_config: Mapping[str, Any], *, document_loader: DocumentLoader) -> str:
    """RDFC-1.0 N-Quads of a proof configuration (without ``proofValue``).

    Proof configurations differ between credentials only in ``created`` (one blank
    node, one literal), so the canonical form is computed once per shape with a
    placeholder date and the date substituted afterwards. That is exact: with one
    blank node its label is always ``_:c14n0``, and the lines sort by predicate
    before the literal is reached. Any other shape is canonicalized in full.
    """
    config = {key: value for key, value in proof_config.items() if key != "proofValue"}
    created = config.get("created")
    if not (isinstance(created, str) and _XSD_DATETIME.match(created)):
        return canonicalize(config, document_loader=document_loader)
    # The loader owns the templates (``OfflineDocumentLoader.proof_templates``, keyed by everything but
    # ``created``); a loader without that cache canonicalizes in full every time.
    templates = getattr(document_loader, "proof_templates", None)
    if templates is None:
        return canonicalize(config, document_loader=document_loader)
    key = json.dumps({k: v for k, v in config.items() if k != "created"}, sort_keys=True)
    cached = templates.get(key, _MISSING)
    if cached is _MISSING:
        template = canonicalize({**config, "created": _CREATED_PLACEHOLDER}, document_loader=document_loader)
        usable = template.count(f'"{_CREATED_PLACEHOLDER}"') == 1 and "_:c14n1" not in template
        cached = template if usable else None
        templates.put(key, cached, size=len(key) + len(template) + 256)
    if cached is None:
        return canonicalize(config, document_loader=document_loader)
    return str(cached).replace(f'"{_CREATED_PLACEHOLDER}"', f'"{created}"')


def hash_data(*, canonical_proof_config: str, canonical_document: str) -> bytes:
    """VC-DI-EdDSA 3.3.4: SHA-256 of the proof config first, then SHA-256 of the document (64 bytes)."""
    return (
        hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        + hashlib.sha256(canonical_document.encode("utf-8")).digest()
    )


#: Control characters that canonical N-Quads implementations write differently. RDFC-1.0 (RDF 1.2's canonical
#: N-Quads, and Digital Bazaar's rdf-canonize) escapes backspace and form feed as ``\b`` and ``\f`` and the other
#: C0 controls and DEL as ``\u00XX``; pyld writes them raw. Tab, line feed and carriage return, ``"`` and ``\``
#: are escaped alike by both, and so are fine.
DISPUTED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_disputed_characters(canonical: str) -> None:
    """Refuse to sign text that other verifiers would canonicalize to other bytes (and so reject)."""
    found = DISPUTED_CHARACTERS.search(canonical)
    if found:
        raise SigningError(f"the document contains the control character U+{ord(found.group()):04X}, which "
                           "canonicalization libraries escape differently; remove it before signing")


def _proofs(document: Mapping[str, Any]) -> list[Any]:
    existing = document.get("proof")
    if existing is None:
        return []
    return list(existing) if isinstance(existing, list) else [existing]


def sign(
    document: Mapping[str, Any],
    *,
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
    document_loader: DocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """Add an eddsa-rdfc-2022 DataIntegrityProof to a JSON-LD document.

    Args:
        document: the unsigned (or already signed) credential; not modified.
        private_key: the Ed25519 private key.
        verification_method: id of the matching public key (e.g. ``did:web:host#key-1``).
        created: aware datetime or XML dateTime string for ``proof.created``.
        document_loader: offline loader (``loader.document_loader``).
        proof_purpose: ``assertionMethod`` for credentials.

    Returns:
        A new dict whose ``proof`` is an array with the new proof last (an
        existing proof or proof array is kept: a proof set, each proof signing
        the document without ``proof``).

    Raises:
        SigningError: not an Ed25519 key, or no ``@context``.
        UnknownContextError, UndefinedTermError, CanonicalizationError: from
            canonicalization; nothing is signed that would not be covered.
    """
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise SigningError(f"{CRYPTOSUITE} needs an Ed25519 private key, got {type(private_key).__name__}")
    if not isinstance(verification_method, str) or not verification_method:
        raise SigningError("verification_method is required")
    config = proof_configuration(
        document, verification_method=verification_method, created=created, proof_purpose=proof_purpose
    )
    canonical_doc = canonical_document(document, document_loader=document_loader)
    canonical_config = canonical_proof_configuration(config, document_loader=document_loader)
    refuse_disputed_characters(canonical_doc + canonical_config)
    signature = private_key.sign(hash_data(canonical_proof_config=canonical_config, canonical_document=canonical_doc))
    proof = {key: value for key, value in config.items() if key != "@context"}
    proof["proofValue"] = "z" + b58encode(signature)
    signed = unsecured_document(document)
    signed["proof"] = [*_proofs(document), proof]
    return signed


def decode_proof_value(proof_value: Any) -> bytes:
    """The 64 signature bytes of a ``proofValue`` (multibase base58btc).

    Raises:
        ProofError: not a ``z`` multibase string or not 64 bytes.
    """
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise ProofError("proofValue must be a multibase base58btc string starting with 'z'")
    try:
        signature = b58decode(proof_value[1:])
    except KeyFormatError as error:
        raise ProofError(f"proofValue is not base58btc: {error}") from None
    if len(signature) != SIGNATURE_LENGTH:
        raise ProofError(f"proofValue must decode to a {SIGNATURE_LENGTH}-byte Ed25519 signature, got {len(signature)}")
    return signature


def check_proof_options(proof: Any, *, expected_proof_purpose: str = ASSERTION_METHOD) -> None:
    """The non-cryptographic checks of VC-DI-EdDSA 3.3.2 verification.

    Raises:
        ProofError: naming the first wrong member.
    """
    if not isinstance(proof, Mapping):
        raise ProofError("proof must be a JSON object")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}")
    if proof.get("proofPurpose") != expected_proof_purpose:
        raise ProofError(f"proofPurpose is {proof.get('proofPurpose')!r}, expected {expected_proof_purpose!r}")
    if not isinstance(proof.get("verificationMethod"), str):
        raise ProofError("proof has no verificationMethod")
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _XSD_DATETIME.match(created)):
        raise ProofError(f"proof created {created!r} is not an XML Schema dateTime")


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    public_key: ed25519.Ed25519PublicKey,
    document_loader: DocumentLoader,
    expected_proof_purpose: str = ASSERTION_METHOD,
) -> None:
    """Verify one eddsa-rdfc-2022 proof of ``document`` with ``public_key``.

    Does not resolve keys or check who controls them: that is the caller's
    job (``verify.py`` with a ``KeyResolver``).

    Args:
        document: the secured document (its ``proof`` member is ignored).
        proof: the proof to check (one member of ``document["proof"]``).
        public_key: the Ed25519 key ``proof.verificationMethod`` resolved to.
        document_loader: offline loader.
        expected_proof_purpose: ``assertionMethod`` for credentials.

    Raises:
        ProofError: wrong type/cryptosuite/purpose, malformed proofValue, a proof
            ``@context`` that is not a prefix of the document's, or a bad signature.
        UnknownContextError, UndefinedTermError, CanonicalizationError: the
            document or proof cannot be canonicalized safely.
    """
    canonical_doc = canonical_document(document, document_loader=document_loader)
    verify_canonical_proof(
        proof,
        canonical_document=canonical_doc,
        document_context=document.get("@context"),
        public_key=public_key,
        document_loader=document_loader,
        expected_proof_purpose=expected_proof_purpose,
    )


def verify_canonical_proof(
    proof: Mapping[str, Any],
    *,
    canonical_document: str,
    document_context: Any,
    public_key: ed25519.Ed25519PublicKey,
    document_loader: DocumentLoader,
    expected_proof_purpose: str = ASSERTION_METHOD,
) -> None:
    """:func:`verify_proof` for a document already canonicalized (one canonicalization, many proofs).

    Raises:
        ProofError: see :func:`verify_proof`.
    """
    check_proof_options(proof, expected_proof_purpose=expected_proof_purpose)
    signature = decode_proof_value(proof.get("proofValue"))
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ProofError(f"{CRYPTOSUITE} needs an Ed25519 public key, got {type(public_key).__name__}")
    if "@context" in proof:
        # VC-DI 1.0 4.4 "Verify Proof": a proof @context must match the start of the document's.
        proof_context = proof["@context"] if isinstance(proof["@context"], list) else [proof["@context"]]
        contexts = document_context if isinstance(document_context, list) else [document_context]
        if contexts[: len(proof_context)] != proof_context:
            raise ProofError("the proof's @context does not match the start of the document's @context")
    config = {key: value for key, value in proof.items() if key != "proofValue"}
    config["@context"] = document_context
    canonical_config = canonical_proof_configuration(config, document_loader=document_loader)
    data = hash_data(canonical_proof_config=canonical_config, canonical_document=canonical_document)
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise ProofError(
            "the signature does not match the canonical document and proof configuration "
            "(the credential was changed after signing, or signed with another key)"
        ) from None
