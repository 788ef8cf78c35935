"""Errors raised by the pure credential core.

They know nothing of HTTP: ``issuer/errors.py`` maps them to responses. Every
message names the offending thing (URL, term, key file, check) so that a log
line alone says what went wrong.
"""

from __future__ import annotations


class CredentialError(Exception):
    """Base class of every error raised by ``issuer.credentials``."""


class UnknownContextError(CredentialError):
    """A JSON-LD ``@context`` URL is not among the vendored contexts (never fetched)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"unknown JSON-LD context {url!r}: only vendored contexts are served, nothing is fetched")
        self.url = url


class CanonicalizationError(CredentialError):
    """JSON-LD processing or RDFC-1.0 canonicalization failed."""


class UndefinedTermError(CanonicalizationError):
    """A property, type or identifier would be silently dropped (or mangled) by JSON-LD expansion.

    The equivalent of Digital Bazaar's ``safe: true`` mode: data that no context
    defines is not covered by the signature, so it must not be signed or accepted.
    """

    def __init__(self, term: str, reason: str) -> None:
        super().__init__(f"undefined JSON-LD term {term!r}: {reason}")
        self.term = term


class SigningError(CredentialError):
    """A document could not be signed (bad input, bad key, bad proof options)."""


class ProofError(CredentialError):
    """A proof (Data Integrity or JWS) did not verify; the message says which step failed."""


class KeyFormatError(CredentialError, ValueError):
    """A Multikey, did:key, JWK or base58 value is malformed or of an unsupported kind."""


class KeyResolutionError(CredentialError):
    """A verification method / kid could not be turned into a trusted public key."""


class UnknownIssuer(KeyResolutionError):
    """The key's controller is not known to us; keys are never fetched from the network."""


class KeyFileError(CredentialError):
    """A private key file cannot be used; ``reason`` is a short machine-readable name.

    Reasons: ``missing``, ``symlink``, ``not_a_file``, ``permissions``, ``unreadable``,
    ``corrupt``, ``wrong_passphrase``, ``passphrase_required``, ``not_encrypted``,
    ``unsupported_key``, ``exists``.
    """

    def __init__(self, path: object, reason: str, detail: str) -> None:
        super().__init__(f"key file {str(path)!r}: {reason}: {detail}")
        self.path = path
        self.reason = reason
