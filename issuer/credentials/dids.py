"""did:web identifiers, DID documents, JWKS, and offline key resolution.

did:web (W3C CCG did:web method, "Create"): ``https://host:port/a/b`` becomes
``did:web:host%3Aport:a:b`` (the port's colon percent-encoded, path segments
joined with ``:``). Key resolution never fetches anything: a verification
method resolves through did:key decoding, through a DID document the caller
already holds (the app passes its own), or through the 1EdTech fragment
shortcut; everything else is an :class:`UnknownIssuer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from issuer.credentials.errors import KeyFormatError, KeyResolutionError, UnknownIssuer
from issuer.credentials.multikey import (
    DID_KEY_PREFIX,
    PublicKey,
    decode_ed25519_multikey,
    encode_ed25519_multikey,
    public_jwk,
    public_key_from_did_key,
    public_key_from_jwk,
)

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"
ASSERTION_METHOD = "assertionMethod"
VERIFICATION_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
KeySource = Literal["did:key", "document", "fragment"]
# A key given as an object, a publicKeyMultibase string (Ed25519) or a public JWK.
KeyMaterial = PublicKey | str | Mapping[str, Any]


def did_web_from_base_url(base_url: str) -> str:
    """The did:web DID for a service base URL.

    ``did_web_from_base_url("http://127.0.0.1:5000") == "did:web:127.0.0.1%3A5000"``;
    ``"https://example.org/issuers/7"`` gives ``"did:web:example.org:issuers:7"``.

    Raises:
        ValueError: not an http(s) URL with a host, or it has a query/fragment.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"did:web needs an http(s) base URL with a host, got {base_url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"a did:web base URL has no user info, query or fragment: {base_url!r}")
    host = parts.hostname.lower()
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    segments = [quote(segment, safe="") for segment in parts.path.split("/") if segment]
    return ":".join(["did:web", host, *segments])


def _public_key(material: KeyMaterial) -> PublicKey:
    if isinstance(material, (ed25519.Ed25519PublicKey, rsa.RSAPublicKey)):
        return material
    if isinstance(material, str):
        return decode_ed25519_multikey(material)
    if isinstance(material, Mapping):
        return public_key_from_jwk(dict(material))
    raise KeyFormatError(f"unsupported key material {type(material).__name__}; give a public key, multibase or JWK")


def verification_method(did: str, kid: str, material: KeyMaterial) -> dict[str, Any]:
    """One verification method ``did#kid``: Ed25519 → ``Multikey``, RSA → ``JsonWebKey``."""
    key = _public_key(material)
    method: dict[str, Any] = {"id": f"{did}#{kid}"}
    if isinstance(key, ed25519.Ed25519PublicKey):
        method.update(type="Multikey", controller=did, publicKeyMultibase=encode_ed25519_multikey(key))
    else:
        method.update(type="JsonWebKey", controller=did, publicKeyJwk=public_jwk(key))
    return method


def did_document(did: str, keys: Mapping[str, KeyMaterial]) -> dict[str, Any]:
    """A DID document listing every key (current and retired) under ``assertionMethod``.

    Args:
        did: the DID (``did:web:...``).
        keys: kid → public key (object, Ed25519 ``publicKeyMultibase`` or public JWK),
            in the order to publish. Retired keys stay listed so that old
            credentials keep verifying.

    Returns:
        ``{"@context": [did/v1, multikey/v1 (+ jwk/v1)], "id", "verificationMethod", "assertionMethod"}``.
    """
    methods = [verification_method(did, kid, material) for kid, material in keys.items()]
    context = [DID_CONTEXT, MULTIKEY_CONTEXT]
    if any(method["type"] == "JsonWebKey" for method in methods):
        context.append(JWK_CONTEXT)
    return {
        "@context": context,
        "id": did,
        "verificationMethod": methods,
        ASSERTION_METHOD: [method["id"] for method in methods],
    }


#: The ``alg`` of an Ed25519 key in the JWK Set: RFC 8037's ``EdDSA``. RFC 9864's fully-specified ``Ed25519`` is
#: newer and unknown to PyJWT, which silently drops a key whose ``alg`` it does not know from a ``PyJWKSet`` (and to
#: any client that matches ``alg`` against the RFC 8037 name); joserfc and panva/jose read both names. python-jose
#: has no Ed25519 support under either name; it still reads the RSA keys of the set.
JWKS_EDDSA = "EdDSA"


def jwks(keys: Mapping[str, KeyMaterial], *, did: str | None = None) -> dict[str, Any]:
    """A JWK Set of the public keys, ``kid`` = ``did#kid`` when ``did`` is given (as in JWT headers).

    Each key says what it verifies (``alg``: ``RS256`` for RSA, ``EdDSA`` for Ed25519, see ``JWKS_EDDSA``) and
    ``use: "sig"``.
    """
    out = []
    for kid, material in keys.items():
        key = _public_key(material)
        jwk: dict[str, Any] = public_jwk(key, kid=f"{did}#{kid}" if did else kid)
        jwk["alg"] = JWKS_EDDSA if isinstance(key, ed25519.Ed25519PublicKey) else "RS256"
        jwk["use"] = "sig"
        out.append(jwk)
    return {"keys": out}


@dataclass(frozen=True)
class ResolvedKey:
    """A verification method resolved to a public key.

    ``source`` says how much the resolution is worth: ``document`` (a DID
    document we hold: the issuer is known), ``did:key`` (the DID is the key:
    self-certifying, but nobody vouches for who it is) or ``fragment`` (the
    1EdTech ``<controller>#z6Mk...`` shortcut: the credential asserts its own
    key, so the signature proves integrity, not the issuer's identity).
    """

    verification_method: str
    controller: str
    public_key: PublicKey
    source: KeySource
    relationships: frozenset[str] = field(default_factory=frozenset)


def _absolute(reference: str, document_id: str) -> str:
    return document_id + reference if reference.startswith("#") else reference


class KeyResolver:
    """Maps a ``verificationMethod`` / JWT ``kid`` to a public key and its controller, offline.

    Args:
        known_documents: DID (controller) documents we trust, e.g. the app's own.
        allow_fragment_shortcut: accept ``<controller>#z6Mk...`` (1EdTech) when the
            controller's document is not known.
    """

    def __init__(
        self, known_documents: Iterable[Mapping[str, Any]] = (), *, allow_fragment_shortcut: bool = True
    ) -> None:
        self._documents: dict[str, Mapping[str, Any]] = {}
        for document in known_documents:
            document_id = document.get("id")
            if not isinstance(document_id, str):
                raise ValueError("a known DID document needs a string id")  # noqa: TRY004 (bad data, not a bad type)
            self._documents[document_id] = document
        self._allow_fragment_shortcut = allow_fragment_shortcut

    def knows(self, controller: str) -> bool:
        """Whether we hold the controller document of ``controller``."""
        return controller in self._documents

    def resolve(self, verification_method: str) -> ResolvedKey:
        """Resolve a verification method id.

        Raises:
            KeyResolutionError: the id is malformed, or names a method the known
                document does not contain, or the key material is unusable.
            UnknownIssuer: nothing we hold describes it (never fetched).
        """
        if not isinstance(verification_method, str) or not verification_method:
            raise KeyResolutionError("verificationMethod must be a non-empty string")
        base, _, fragment = verification_method.partition("#")
        if base in self._documents:
            return self._from_document(self._documents[base], verification_method)
        if base.startswith(DID_KEY_PREFIX):
            try:
                key = public_key_from_did_key(verification_method)
            except KeyFormatError as error:
                raise KeyResolutionError(f"verificationMethod {verification_method!r}: {error}") from None
            # A did:key document lists its one key under every verification relationship.
            return ResolvedKey(verification_method, base, key, "did:key", frozenset(VERIFICATION_RELATIONSHIPS))
        if self._allow_fragment_shortcut and fragment.startswith("z6Mk"):
            try:
                key = decode_ed25519_multikey(fragment)
            except KeyFormatError as error:
                raise KeyResolutionError(f"verificationMethod {verification_method!r}: {error}") from None
            return ResolvedKey(verification_method, base, key, "fragment", frozenset({ASSERTION_METHOD}))
        raise UnknownIssuer(
            f"verificationMethod {verification_method!r} is not resolvable offline: its controller's "
            "DID document is not known and it is neither a did:key nor a <controller>#z6Mk... key"
        )

    def _from_document(self, document: Mapping[str, Any], method_id: str) -> ResolvedKey:
        document_id = str(document["id"])
        candidates: list[Mapping[str, Any]] = [
            method
            for method in _as_list(document.get("verificationMethod"))
            if isinstance(method, Mapping) and _absolute(str(method.get("id", "")), document_id) == method_id
        ]
        relationships: set[str] = set()
        for relationship in VERIFICATION_RELATIONSHIPS:
            for entry in _as_list(document.get(relationship)):
                if isinstance(entry, str) and _absolute(entry, document_id) == method_id:
                    relationships.add(relationship)
                elif isinstance(entry, Mapping) and _absolute(str(entry.get("id", "")), document_id) == method_id:
                    relationships.add(relationship)
                    candidates.append(entry)
        if not candidates:
            raise KeyResolutionError(f"the DID document of {document_id} has no verification method {method_id!r}")
        method = candidates[0]
        controller = method.get("controller", document_id)
        if "publicKeyMultibase" not in method and "publicKeyJwk" not in method:
            raise KeyResolutionError(
                f"verification method {method_id!r}: it has neither publicKeyMultibase nor publicKeyJwk"
            )
        try:
            if "publicKeyMultibase" in method:
                key: PublicKey = decode_ed25519_multikey(method["publicKeyMultibase"])
            else:
                key = public_key_from_jwk(method["publicKeyJwk"])
        except KeyFormatError as error:
            raise KeyResolutionError(f"verification method {method_id!r}: {error}") from None
        return ResolvedKey(method_id, str(controller), key, "document", frozenset(relationships))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
