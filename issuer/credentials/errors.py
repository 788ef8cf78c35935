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


class TooComplexError(CanonicalizationError):
    """The document would cost more work to process than any genuine credential needs (a "poison" input).

    Raised by JSON-LD expansion (too many values, nested too deep) and by RDFC-1.0
    (too many quads or blank nodes, too many blank nodes alike, or Hash N-Degree
    Quads over its work limit) before the work is done, so refusing costs little.
    ``limit`` names the bound that was hit.
    """

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class JSONInputError(CredentialError, ValueError):
    """JSON text refused by ``jsonparse.loads``; ``reason`` is a short machine-readable name.

    Reasons: ``too_large``, ``not_utf8``, ``malformed``, ``duplicate_key``, ``too_deep``,
    ``not_finite``, ``number_too_long``, ``lone_surrogate``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


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
