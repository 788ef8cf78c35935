"""The pure signing core: OB 3.0 credentials in, signed credentials and verdicts out.

Nothing here touches the app, the database or the network: keys, the JSON-LD
document loader, the key resolver and the status checker are passed in.
"""

from __future__ import annotations

from issuer.credentials.base58 import b58decode, b58encode
from issuer.credentials.canonicalize import canonicalize
from issuer.credentials.credential import (
    ACHIEVEMENT_CREDENTIAL_SCHEMA,
    CREDENTIAL_CONTEXT,
    build_achievement_credential,
    format_datetime,
    identity_hash,
)
from issuer.credentials.dids import (
    KeyResolver,
    ResolvedKey,
    did_document,
    did_web_from_base_url,
    jwks,
    verification_method,
)
from issuer.credentials.eddsa_rdfc_2022 import (
    CRYPTOSUITE,
    PROOF_TYPE,
    canonical_document,
    canonical_proof_configuration,
    hash_data,
    proof_configuration,
    sign,
    verify_proof,
)
from issuer.credentials.errors import (
    CanonicalizationError,
    CredentialError,
    JSONInputError,
    KeyFileError,
    KeyFormatError,
    KeyResolutionError,
    ProofError,
    SigningError,
    TooComplexError,
    UndefinedTermError,
    UnknownContextError,
    UnknownIssuer,
)
from issuer.credentials.keyfiles import generate_ed25519, generate_rsa, load_private_key, write_private_key
from issuer.credentials.loader import OfflineDocumentLoader, document_loader
from issuer.credentials.multikey import (
    decode_ed25519_multikey,
    did_key_from_public_key,
    did_key_verification_method,
    encode_ed25519_multikey,
    public_jwk,
    public_key_from_did_key,
    public_key_from_jwk,
)
from issuer.credentials.schema import validate
from issuer.credentials.vc_jwt import decode_and_verify
from issuer.credentials.vc_jwt import encode as encode_jwt
from issuer.credentials.verify import Check, VerificationResult, verify

__all__ = [
    "ACHIEVEMENT_CREDENTIAL_SCHEMA",
    "CREDENTIAL_CONTEXT",
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "CanonicalizationError",
    "Check",
    "CredentialError",
    "JSONInputError",
    "KeyFileError",
    "KeyFormatError",
    "KeyResolutionError",
    "KeyResolver",
    "OfflineDocumentLoader",
    "ProofError",
    "ResolvedKey",
    "SigningError",
    "TooComplexError",
    "UndefinedTermError",
    "UnknownContextError",
    "UnknownIssuer",
    "VerificationResult",
    "b58decode",
    "b58encode",
    "build_achievement_credential",
    "canonical_document",
    "canonical_proof_configuration",
    "canonicalize",
    "decode_and_verify",
    "decode_ed25519_multikey",
    "did_document",
    "did_key_from_public_key",
    "did_key_verification_method",
    "did_web_from_base_url",
    "document_loader",
    "encode_ed25519_multikey",
    "encode_jwt",
    "format_datetime",
    "generate_ed25519",
    "generate_rsa",
    "hash_data",
    "identity_hash",
    "jwks",
    "load_private_key",
    "proof_configuration",
    "public_jwk",
    "public_key_from_did_key",
    "public_key_from_jwk",
    "sign",
    "validate",
    "verification_method",
    "verify",
    "verify_proof",
    "write_private_key",
]
