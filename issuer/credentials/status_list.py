"""W3C Bitstring Status List v1.0: the bitstring, its encoding, entries, and the validation of one entry.

Pure: no database, no network. The service keeps the bits; this module turns
them into the ``encodedList`` and back, and checks an entry against a list
credential whose proof the caller has already verified.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: §2.1: the list MUST be at least 131,072 entries (16 KB) for herd privacy.
MIN_LIST_LENGTH = 131_072
STATUS_PURPOSES = ("revocation", "suspension", "refresh", "message")
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusList"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
#: Largest decompressed list we read (a gzip bomb stops here).
MAX_DECODED_BYTES = 16 * 1024 * 1024
MAX_ENCODED_LENGTH = 4 * 1024 * 1024


class StatusListError(ValueError):
    """An entry or list that fails §3.2 validation; ``code`` is the spec's error name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Bitstring:
    """A fixed-length bitstring; index 0 is the left-most (most significant) bit of byte 0 (§3.1)."""

    def __init__(self, length: int = MIN_LIST_LENGTH) -> None:
        if length < MIN_LIST_LENGTH or length % 8:
            raise StatusListError("STATUS_LIST_LENGTH_ERROR", f"a list needs at least {MIN_LIST_LENGTH} entries, in whole bytes")
        self._bits = bytearray(length // 8)

    @classmethod
    def from_bytes(cls, data: bytes) -> Bitstring:
        if len(data) * 8 < MIN_LIST_LENGTH:
            raise StatusListError("STATUS_LIST_LENGTH_ERROR",
                                  f"the list has {len(data) * 8} entries; at least {MIN_LIST_LENGTH} are required")
        bitstring = cls.__new__(cls)
        bitstring._bits = bytearray(data)
        return bitstring

    def __len__(self) -> int:
        return len(self._bits) * 8

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self):
            raise StatusListError("RANGE_ERROR", f"index {index} is outside the list (0 to {len(self) - 1})")

    def get(self, index: int) -> bool:
        self._check(index)
        return bool(self._bits[index // 8] & (0x80 >> (index % 8)))

    def set(self, index: int, value: bool) -> None:
        self._check(index)
        mask = 0x80 >> (index % 8)
        if value:
            self._bits[index // 8] |= mask
        else:
            self._bits[index // 8] &= ~mask & 0xFF

    def encode(self) -> str:
        """``"u"`` + base64url (no padding) of the GZIP-compressed bits (§2.1 encodedList); deterministic."""
        compressed = gzip.compress(self.to_bytes(), compresslevel=9, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, encoded: str, *, max_decoded: int = MAX_DECODED_BYTES) -> Bitstring:
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError("STATUS_LIST_DECODE_ERROR", "encodedList must be multibase base64url (starting with 'u')")
        if len(encoded) > MAX_ENCODED_LENGTH:
            raise StatusListError("STATUS_LIST_DECODE_ERROR", "encodedList is too large")
        body = encoded[1:]
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            raise StatusListError("STATUS_LIST_DECODE_ERROR", "encodedList is not base64url") from None
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container
        try:
            data = inflater.decompress(compressed, max_decoded + 1)
        except zlib.error:
            raise StatusListError("STATUS_LIST_DECODE_ERROR", "encodedList is not GZIP data") from None
        if len(data) > max_decoded or inflater.unconsumed_tail:
            raise StatusListError("STATUS_LIST_DECODE_ERROR", f"the list decompresses to more than {max_decoded} bytes")
        if not inflater.eof:
            raise StatusListError("STATUS_LIST_DECODE_ERROR", "encodedList is truncated")
        return cls.from_bytes(data)


def _datetime(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_entry(*, list_url: str, purpose: str, index: int) -> dict[str, Any]:
    """A ``BitstringStatusListEntry``; the index is a base-10 string, as §2.1 requires."""
    if purpose not in STATUS_PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    if index < 0:
        raise ValueError("status list index must not be negative")
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def build_status_list_credential(
    *,
    list_url: str,
    issuer: str | Mapping[str, Any],
    purpose: str,
    bitstring: Bitstring,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` (§2.2)."""
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": _datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": bitstring.encode(),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = _datetime(valid_until)
    return credential


@dataclass(frozen=True)
class StatusResult:
    purpose: str
    index: int
    set: bool


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_entry(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> StatusResult:
    """Validate one entry against a list credential already proven genuine (§3.2), and read its bit."""
    if ENTRY_TYPE not in _types(entry.get("type")):
        raise StatusListError("MALFORMED_VALUE_ERROR", f"the status entry is not a {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError("MALFORMED_VALUE_ERROR", "the status entry has no statusPurpose")
    raw_index = entry.get("statusListIndex")
    # §2.1 says a base-10 string; other issuers' entries (1EdTech's own sample) use a JSON integer. Read both.
    if isinstance(raw_index, int) and not isinstance(raw_index, bool) and raw_index >= 0:
        raw_index = str(raw_index)
    if not isinstance(raw_index, str) or not raw_index.isascii() or not raw_index.isdigit():
        raise StatusListError("MALFORMED_VALUE_ERROR", "statusListIndex must be a non-negative base-10 integer")
    index = int(raw_index)
    size = entry.get("statusSize", 1)
    if size not in (1, "1"):
        raise StatusListError("MALFORMED_VALUE_ERROR", "only statusSize 1 is supported")
    if LIST_CREDENTIAL_TYPE not in _types(list_credential.get("type")):
        raise StatusListError("STATUS_VERIFICATION_ERROR", f"the list credential is not a {LIST_CREDENTIAL_TYPE}")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or LIST_TYPE not in _types(subject.get("type")):
        raise StatusListError("STATUS_VERIFICATION_ERROR", f"the list credential's subject is not a {LIST_TYPE}")
    if purpose not in _types(subject.get("statusPurpose")):
        raise StatusListError("STATUS_VERIFICATION_ERROR",
                              f"the entry's purpose {purpose!r} does not match the list's {subject.get('statusPurpose')!r}")
    bitstring = Bitstring.decode(subject.get("encodedList"))  # type: ignore[arg-type]
    if index >= len(bitstring):
        raise StatusListError("RANGE_ERROR", f"statusListIndex {index} is outside the list of {len(bitstring)} entries")
    return StatusResult(purpose=purpose, index=index, set=bitstring.get(index))
