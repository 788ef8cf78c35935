"""The issuer's did:web: its verification methods, its DID document and JWKS, and the keys a verifier here trusts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from issuer.credentials import dids
from issuer.identity import keystore
from issuer.identity.profile import issuer_did
from issuer.models import IssuerKey
from issuer.platform.database import SessionLike


def verification_method(kid: str) -> str:
    return f"{issuer_did()}#{kid}"


def did_document(session: SessionLike) -> dict[str, Any]:
    """Every key, current and retired, so credentials signed before a rotation keep verifying; never a revoked
    key (withdrawn after a compromise: nothing it signed verifies any more)."""
    return dids.did_document(issuer_did(), _key_material(keystore.published_keys(session)))


def jwks(session: SessionLike) -> dict[str, Any]:
    """The same keys as the DID document, as a JWK Set."""
    return dids.jwks(_key_material(keystore.published_keys(session)), did=issuer_did())


def _key_material(rows: list[IssuerKey]) -> dict[str, Any]:
    """kid → public key: the Multikey for Ed25519, the JWK for RSA."""
    return {k.kid: (k.public_multibase if k.algorithm == keystore.ED25519 else k.public_jwk) for k in rows}


def resolver(session: SessionLike, others: Iterable[Mapping[str, Any]] = ()) -> Any:
    """Keys this verifier trusts: did:key by decoding, our own did:web from our own key store, and the DID documents
    ``others`` (held for trusted issuers: nothing is fetched)."""
    own = did_document(session)
    return dids.KeyResolver(known_documents=[own, *(d for d in others if d.get("id") != own["id"])])
