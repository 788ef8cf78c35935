"""Private key files: generation, safe writing and strict loading.

Keys are PKCS#8 PEM files, mode 0600, encrypted when a passphrase is given.
Loading refuses anything doubtful with a :class:`KeyFileError` whose ``reason``
names the problem; nothing here ever creates a key as a fallback.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from issuer.credentials.errors import KeyFileError
from issuer.credentials.multikey import PrivateKey

__all__ = ["KeyFileError", "generate_ed25519", "generate_rsa", "load_private_key", "write_private_key"]

RSA_PUBLIC_EXPONENT = 65537
MIN_RSA_BITS = 2048
MAX_KEY_FILE_BYTES = 64 * 1024
_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


def generate_ed25519() -> ed25519.Ed25519PrivateKey:
    """A new Ed25519 private key (for eddsa-rdfc-2022 Data Integrity proofs)."""
    return ed25519.Ed25519PrivateKey.generate()


def generate_rsa(bits: int = 3072) -> rsa.RSAPrivateKey:
    """A new RSA private key (for RS256 VC-JWT; OB 3.0 "JSON Web Token Proof Format").

    Raises:
        ValueError: fewer than 2048 bits.
    """
    if bits < MIN_RSA_BITS:
        raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits, got {bits}")
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits)


def _passphrase_bytes(passphrase: bytes | str | None) -> bytes | None:
    if passphrase is None or passphrase in (b"", ""):
        return None  # an empty passphrase means "not encrypted", never "encrypted with nothing"
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase


def write_private_key(path: str | os.PathLike[str], key: PrivateKey, *, passphrase: bytes | str | None) -> None:
    """Write ``key`` as PKCS#8 PEM to a new file with mode 0600, atomically, never overwriting.

    The PEM goes to a temporary 0600 file in the same directory, is fsynced, and
    is then hard-linked to ``path``: ``link`` fails if ``path`` exists, so a key is
    never replaced, and readers never see a half-written file.

    Args:
        path: destination; its directory must exist.
        key: an Ed25519 or RSA private key.
        passphrase: encrypts the file (best available PKCS#8 encryption) when given;
            ``None`` or empty writes it unencrypted.

    Raises:
        KeyFileError: ``exists`` when ``path`` already exists (also a symlink or dangling link).
    """
    target = Path(path)
    secret = _passphrase_bytes(passphrase)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    if os.path.lexists(target):
        raise KeyFileError(target, "exists", "refusing to overwrite an existing key file")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask can only remove bits, but be explicit
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise KeyFileError(target, "exists", "refusing to overwrite an existing key file") from None
    finally:
        Path(temporary).unlink()
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


_DER_SEQUENCE = 0x30  # the tag of a DER SEQUENCE
_DER_LONG_LENGTH = 0x80  # a length byte with this bit set gives the number of length bytes that follow
_DER_HEADER = 2  # the tag byte and the first length byte


def _check_pem_structure(path: Path, data: bytes) -> str:
    """Return the PEM label after checking armour, base64 and the outer DER length."""
    match = _PEM.search(data)
    if match is None:
        raise KeyFileError(path, "corrupt", "no complete PEM block (truncated or not a PEM key file)")
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except ValueError:
        raise KeyFileError(path, "corrupt", "the PEM body is not valid base64") from None
    # DER SEQUENCE: 0x30, then a short or long length that must cover exactly the rest.
    if len(der) < _DER_HEADER or der[0] != _DER_SEQUENCE:
        raise KeyFileError(path, "corrupt", "the PEM body is not a DER SEQUENCE")
    if der[1] < _DER_LONG_LENGTH:
        header, length = _DER_HEADER, der[1]
    else:
        size = der[1] & 0x7F
        header, length = _DER_HEADER + size, int.from_bytes(der[_DER_HEADER : _DER_HEADER + size], "big")
    if header + length != len(der):
        raise KeyFileError(path, "corrupt", "the DER structure is truncated or has trailing bytes")
    return match.group(1).decode("ascii")


def load_private_key(  # noqa: PLR0912 (one branch per refusal, in the order the docstring lists them)
    path: str | os.PathLike[str], *, passphrase: bytes | str | None
) -> PrivateKey:
    """Load an Ed25519 or RSA private key from a PKCS#8 PEM file, refusing anything unsafe.

    Checks, in order: the path exists, is not a symlink, is a regular file, is not
    group/world accessible, can be read, is an intact PEM/DER structure, and decrypts
    with ``passphrase``.

    Args:
        path: the key file.
        passphrase: the passphrase it was written with (``None``/empty: unencrypted).

    Returns:
        The private key.

    Raises:
        KeyFileError: with ``reason`` one of ``missing``, ``symlink``, ``not_a_file``,
            ``permissions``, ``unreadable``, ``corrupt``, ``passphrase_required``,
            ``wrong_passphrase``, ``not_encrypted``, ``unsupported_key``.
    """
    source = Path(path)
    try:
        info = os.lstat(source)
    except FileNotFoundError:
        raise KeyFileError(source, "missing", "no such file") from None
    except OSError as error:
        raise KeyFileError(source, "unreadable", error.strerror or str(error)) from None
    if stat.S_ISLNK(info.st_mode):
        raise KeyFileError(source, "symlink", "the path is a symbolic link; point the configuration at the real file")
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(source, "not_a_file", "the path is not a regular file")
    if info.st_mode & 0o077:
        raise KeyFileError(
            source, "permissions", f"mode {stat.S_IMODE(info.st_mode):04o} lets group/others access it; chmod 600"
        )
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise KeyFileError(source, "unreadable", error.strerror or str(error)) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(source, "corrupt", f"larger than {MAX_KEY_FILE_BYTES} bytes; not a key file")
    label = _check_pem_structure(source, data)
    secret = _passphrase_bytes(passphrase)
    encrypted = label == "ENCRYPTED PRIVATE KEY"
    if encrypted and secret is None:
        raise KeyFileError(source, "passphrase_required", "the key is encrypted and no passphrase was given")
    if not encrypted and secret is not None:
        raise KeyFileError(source, "not_encrypted", "a passphrase was given but the key file is not encrypted")
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except ValueError as error:
        if encrypted:
            # The structure is intact (checked above), so a failed decrypt is the passphrase.
            raise KeyFileError(source, "wrong_passphrase", "the passphrase does not decrypt the key") from None
        raise KeyFileError(source, "corrupt", f"not a readable private key ({error})") from None
    except (TypeError, UnsupportedAlgorithm) as error:
        raise KeyFileError(source, "corrupt", f"not a readable private key ({error})") from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        raise KeyFileError(source, "unsupported_key", f"{type(key).__name__} keys are not used by the issuer")
    return key
