"""W3C Bitstring Status List v1.0: the bitstring, its ``encodedList``, index allocation, entries, and entry validation.

Pure: no database, no network, no clock. The service keeps the bits and the
taken indexes; this module turns bits into an ``encodedList`` and back, picks
random free indexes, builds the entry and the (unsigned) list credential, and
checks one entry against a list credential whose proof the caller has already
verified. Section numbers (§) are those of the W3C Recommendation
(https://www.w3.org/TR/vc-bitstring-status-list/): §2.1 BitstringStatusListEntry,
§2.2 BitstringStatusListCredential, §3 Algorithms (§3.2 Validate, §3.3 Bitstring
Generation, §3.4 Bitstring Expansion, §3.5 Processing Errors).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import secrets
import zlib
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any, Final

#: §2.2 encodedList / §3.2 step 2: "minimumNumberOfEntries" is 131,072 (16 KB of 1-bit entries). Smaller lists
#: shrink the crowd a holder hides in when the list is fetched, so they MUST be rejected (STATUS_LIST_LENGTH_ERROR).
MIN_LIST_LENGTH: Final = 131_072
#: The purposes this service issues (one entry each per credential). Verification accepts any purpose string that
#: matches the list (§2.1: the value is arbitrary; these two MUST keep their meaning).
STATUS_PURPOSES: Final = ("revocation", "suspension")

ENTRY_TYPE: Final = "BitstringStatusListEntry"
LIST_TYPE: Final = "BitstringStatusList"
LIST_CREDENTIAL_TYPE: Final = "BitstringStatusListCredential"
VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"

#: Largest list we expand, in entries (16 MiB of bits). The spec sets no upper bound; we need one because a few
#: kilobytes of GZIP can inflate to gigabytes and lists may come from the network (a "gzip bomb").
MAX_LIST_LENGTH: Final = 16 * 1024 * 1024 * 8
#: Largest GZIP payload we accept, in bytes. A little above MAX_LIST_LENGTH / 8: deflate's stored blocks add about
#: 5 bytes per 64 KiB, so even an incompressible maximal list fits.
MAX_COMPRESSED_BYTES: Final = 17 * 1024 * 1024

#: Random probes before random_free_index falls back to a scan. With a fraction p of the list taken, all probes miss
#: with probability p**64 (below 0.2 % while the list is at most 90 % full).
RANDOM_PROBES: Final = 64

# §3.5 Processing Errors, plus the two the algorithms themselves name (§3 preamble, §3.2 step 10).
STATUS_RETRIEVAL_ERROR: Final = "STATUS_RETRIEVAL_ERROR"
STATUS_VERIFICATION_ERROR: Final = "STATUS_VERIFICATION_ERROR"
STATUS_LIST_LENGTH_ERROR: Final = "STATUS_LIST_LENGTH_ERROR"
MALFORMED_VALUE_ERROR: Final = "MALFORMED_VALUE_ERROR"
RANGE_ERROR: Final = "RANGE_ERROR"
#: §3.5: an RFC 9457 problem ``type`` is this prefix + the code.
ERROR_TYPE_PREFIX: Final = "https://www.w3.org/ns/credentials/status-list#"

_BASE64URL_NO_PAD = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"[0-9]+")
_HEX_STATUS = re.compile(r"0x[0-9a-fA-F]+")
_SYSTEM_RANDOM = secrets.SystemRandom()


class StatusListError(ValueError):
    """A list or entry that fails Bitstring Status List processing; ``code`` is the spec's error name.

    One class with a ``code`` (rather than a class per error) because callers
    report the code, not branch on it; ``problem_type`` gives the §3.5 URL for
    an RFC 9457 response.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def problem_type(self) -> str:
        """The RFC 9457 ``type`` URL that §3.5 prescribes for this error."""
        return ERROR_TYPE_PREFIX + self.code


class StatusListFull(Exception):
    """Every index of the list is taken; the caller starts a new list.

    Not a ``StatusListError``: it is an allocation outcome on the issuing side,
    not a malformed list, and a verifier's ``except StatusListError`` must not
    swallow it.
    """

    def __init__(self, length: int) -> None:
        super().__init__(f"all {length} indexes of the status list are taken")
        self.length = length


class Bitstring:
    """A fixed-length bitstring of 1-bit statuses, at least MIN_LIST_LENGTH long and whole bytes.

    §2.2 encodedList: index 0 is the left-most bit of the bitstring, i.e. the
    most significant bit of byte 0 (MSB-first; the 1EdTech ``testlist`` sample
    with bit 23 set is ``00 00 01 00 …``).
    """

    __slots__ = ("_bytes",)

    def __init__(self, length: int = MIN_LIST_LENGTH) -> None:
        """An all-zero list of ``length`` entries.

        Raises:
            StatusListError: STATUS_LIST_LENGTH_ERROR if ``length`` is below MIN_LIST_LENGTH or not a multiple of 8.
        """
        _check_length(length)
        self._bytes = bytearray(length // 8)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> Bitstring:
        """Wrap stored bits (copied); the database keeps lists as raw bytes.

        Raises:
            StatusListError: STATUS_LIST_LENGTH_ERROR if ``data`` holds fewer than MIN_LIST_LENGTH bits.
        """
        _check_length(len(data) * 8)
        bitstring = cls.__new__(cls)
        bitstring._bytes = bytearray(data)
        return bitstring

    def __len__(self) -> int:
        return len(self._bytes) * 8

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitstring) and self._bytes == other._bytes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Bitstring(length={len(self)}, set={self.count()})"

    def to_bytes(self) -> bytes:
        """The raw bits, MSB-first, as stored and as compressed."""
        return bytes(self._bytes)

    def count(self) -> int:
        """How many bits are set (for statistics; says nothing about which)."""
        return sum(byte.bit_count() for byte in self._bytes if byte)

    def _position(self, index: int) -> tuple[int, int]:
        # §3.2 step 10: an index outside the bitstring MUST raise RANGE_ERROR. bool is an int; refuse it as a typo.
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"a status list index must be an int, not {type(index).__name__}")
        if not 0 <= index < len(self):
            raise StatusListError(RANGE_ERROR, f"index {index} is outside the list (0 to {len(self) - 1})")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        """Whether the status at ``index`` is set (revoked / suspended).

        Raises:
            StatusListError: RANGE_ERROR if ``index`` is outside the list.
        """
        byte, mask = self._position(index)
        return bool(self._bytes[byte] & mask)

    def set(self, index: int, value: bool) -> None:  # noqa: FBT001 (the bit to store, as in a bit array's set)
        """Set (``True``) or clear (``False``) the status at ``index``.

        Raises:
            StatusListError: RANGE_ERROR if ``index`` is outside the list.
        """
        byte, mask = self._position(index)
        if value:
            self._bytes[byte] |= mask
        else:
            self._bytes[byte] &= ~mask & 0xFF

    def encode(self) -> str:
        """The ``encodedList``: ``"u"`` + base64url without padding of the GZIP-compressed bits (§3.3 step 3).

        Deterministic (gzip ``mtime`` 0, fixed level), so identical bits give an
        identical encodedList and an unchanged list re-signs to the same document.
        """
        compressed = gzip.compress(self.to_bytes(), compresslevel=9, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")

    @classmethod
    def decode(
        cls,
        encoded: str,
        *,
        max_compressed: int = MAX_COMPRESSED_BYTES,
        max_length: int = MAX_LIST_LENGTH,
    ) -> Bitstring:
        """Expand an ``encodedList`` (§3.4) without trusting its size.

        Decompression is incremental and stops one byte past ``max_length / 8``,
        so a gzip bomb costs at most that much memory and time.

        Args:
            encoded: multibase base64url (``u`` prefix, no padding) of a GZIP stream.
            max_compressed: largest GZIP payload accepted, in bytes.
            max_length: largest list accepted, in entries (bits).

        Returns:
            The bitstring.

        Raises:
            StatusListError: MALFORMED_VALUE_ERROR (not multibase base64url, not GZIP, truncated, or larger than
                the caps), STATUS_LIST_LENGTH_ERROR (fewer than MIN_LIST_LENGTH entries).
        """
        # §2.2 encodedList MUST be Multibase base64url with no padding: prefix "u" (upper-case "U" is the padded form).
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError(
                MALFORMED_VALUE_ERROR, "encodedList must be a multibase base64url string starting with 'u'"
            )
        body = encoded[1:]
        if len(body) > (max_compressed * 4 + 2) // 3:  # refuse before decoding anything
            raise StatusListError(
                MALFORMED_VALUE_ERROR, f"encodedList is larger than {max_compressed} compressed bytes"
            )
        if not _BASE64URL_NO_PAD.fullmatch(body) or len(body) % 4 == 1:
            raise StatusListError(MALFORMED_VALUE_ERROR, "encodedList is not base64url without padding")
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise StatusListError(MALFORMED_VALUE_ERROR, "encodedList is not base64url without padding") from None
        data = _gunzip(compressed, limit=max_length // 8)
        return cls.from_bytes(data)


def _check_length(length: int) -> None:
    if length < MIN_LIST_LENGTH or length % 8:
        raise StatusListError(
            STATUS_LIST_LENGTH_ERROR,
            f"the list has {length} entries; at least {MIN_LIST_LENGTH}, in whole bytes, are required",
        )


def _gunzip(compressed: bytes, *, limit: int) -> bytes:
    """RFC 1952 decompression of every member, refusing more than ``limit`` bytes of output."""
    if not compressed:
        raise StatusListError(MALFORMED_VALUE_ERROR, "encodedList is empty")
    out = bytearray()
    remaining = compressed
    while remaining:  # RFC 1952 2.2: a file is a series of members; gzip.decompress reads them all too
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP header and trailer, not zlib/raw
        try:
            out += inflater.decompress(remaining, limit + 1 - len(out))
        except zlib.error:
            raise StatusListError(MALFORMED_VALUE_ERROR, "encodedList is not GZIP data") from None
        if len(out) > limit:
            raise StatusListError(MALFORMED_VALUE_ERROR, f"encodedList decompresses to more than {limit} bytes")
        if not inflater.eof:
            raise StatusListError(MALFORMED_VALUE_ERROR, "encodedList is truncated GZIP data")
        remaining = inflater.unused_data
    return bytes(out)


def random_free_index(
    *,
    taken: Callable[[int], bool] | AbstractSet[int],
    length: int,
    rng: Random = _SYSTEM_RANDOM,
    probes: int = RANDOM_PROBES,
) -> int:
    """A random index in ``range(length)`` that is not taken.

    §2.1 statusListIndex: indexes SHOULD be assigned randomly, so a position
    reveals neither when a credential was issued nor how many were. While the
    list has room, this is rejection sampling: uniform over the free indexes.
    When ``probes`` random tries all hit taken indexes (the list is nearly full),
    it scans from a random offset, wrapping around, and returns the first free
    index: a bounded cost, at the price of a slight bias towards indexes that
    follow long taken runs. Uniqueness is still the caller's job (a database
    constraint): another worker may take the index before it is stored.

    Args:
        taken: a set of taken indexes, or a predicate ``index -> taken?``.
        length: the list length in entries.
        rng: the randomness; a CSPRNG by default (tests pass a seeded ``random.Random``).
        probes: random tries before the scan.

    Returns:
        A free index.

    Raises:
        StatusListFull: no index is free.
        ValueError: ``length`` is not positive.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise ValueError(f"length must be a positive int, not {length!r}")
    is_taken: Callable[[int], bool] = taken.__contains__ if isinstance(taken, AbstractSet) else taken
    for _ in range(probes):
        index = rng.randrange(length)
        if not is_taken(index):
            return index
    start = rng.randrange(length)
    for step in range(length):
        index = (start + step) % length
        if not is_taken(index):
            return index
    raise StatusListFull(length)


def status_entry(*, list_url: str, purpose: str, index: int) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` (§2.1) for a credential's ``credentialStatus``.

    ``statusListIndex`` is a base-10 string, as §2.1 requires: a JSON number
    would canonicalize to a different RDF literal, so the signature would cover
    another value than verifiers read. The entry ``id`` is ``<list_url>#<index>``:
    unique per entry and, as §2.1 requires, not the list's own URL.

    Args:
        list_url: the URL the list credential is served at (its ``id``).
        purpose: one of STATUS_PURPOSES.
        index: the allocated index, ``>= 0``.

    Returns:
        The entry, a new dict.

    Raises:
        ValueError: unknown purpose, negative index, or a ``list_url`` that already has a fragment.
    """
    if purpose not in STATUS_PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}; expected one of {STATUS_PURPOSES}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"a status list index must be a non-negative int, not {index!r}")
    if "#" in list_url:
        raise ValueError("list_url must not have a fragment: the entry id appends '#<index>'")
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
    """An unsigned ``BitstringStatusListCredential`` (§2.2), ready for the signer.

    Only the VC 2.0 context: every term used here is defined there, so adding
    the OB context would change nothing but the bytes to canonicalize.

    Args:
        list_url: the URL the list is served at; the credential ``id``, and the ``statusListCredential`` of entries.
        issuer: the issuer id, or an issuer object with an ``id``.
        purpose: one of STATUS_PURPOSES; one list per purpose.
        bitstring: the bits.
        valid_from: timezone-aware.
        valid_until: timezone-aware, after ``valid_from``; optional.

    Returns:
        The credential, a new dict.

    Raises:
        ValueError: unknown purpose, naive datetimes, or ``valid_until`` not after ``valid_from``.
    """
    if purpose not in STATUS_PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}; expected one of {STATUS_PURPOSES}")
    if valid_until is not None and _utc(valid_until) <= _utc(valid_from):
        raise ValueError("valid_until must be after valid_from")
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": _xsd_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": bitstring.encode(),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = _xsd_datetime(valid_until)
    return credential


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no time zone; pass an aware datetime")
    return value.astimezone(UTC)


def _xsd_datetime(value: datetime) -> str:
    # VC 2.0 4.9: validFrom/validUntil are XML Schema dateTimeStamp; UTC "Z", whole seconds, as our credentials use.
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")  # strftime drops the microseconds


@dataclass(frozen=True)
class StatusResult:
    """The outcome of §3.2 for one entry: which purpose, which index, and whether its bit is set.

    ``set`` is the spec's ``status`` (1 → True); ``valid`` is ``not set``.
    ``message`` is from the entry's ``statusMessage`` or, without one, the
    §2.1 defaults ``"set"`` / ``"unset"``.
    """

    purpose: str
    index: int
    set: bool
    message: str = ""

    @property
    def valid(self) -> bool:
        """§3.2 step 13: status 0 means valid."""
        return not self.set


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_entry(
    entry: Mapping[str, Any],
    list_credential: Mapping[str, Any],
    *,
    allow_integer_index: bool = False,
    max_length: int = MAX_LIST_LENGTH,
) -> StatusResult:
    """Validate one ``BitstringStatusListEntry`` against its list (§3.2) and read its bit.

    The caller has already dereferenced ``statusListCredential``, verified the
    list's proof (§3.2 step 4: STATUS_RETRIEVAL_ERROR / STATUS_VERIFICATION_ERROR
    are the caller's to raise) and applied its own policy on the list's issuer,
    validity period and ``id``. This function never fetches anything.

    Args:
        entry: one ``credentialStatus`` entry.
        list_credential: the list credential, already proven genuine.
        allow_integer_index: also read a JSON-number ``statusListIndex``. §2.1 requires a string, but some
            published samples (1EdTech's validator ``bit-string-list``) use a number; off by default.
        max_length: largest list expanded, in entries (see ``Bitstring.decode``).

    Returns:
        The purpose, the index, whether the bit is set, and its message.

    Raises:
        StatusListError: MALFORMED_VALUE_ERROR (entry or encodedList breaks a MUST), STATUS_VERIFICATION_ERROR
            (not a bitstring list, purpose mismatch, unsupported statusSize), STATUS_LIST_LENGTH_ERROR (list too
            short), RANGE_ERROR (index outside the list).
    """
    if not isinstance(entry, Mapping):
        raise StatusListError(MALFORMED_VALUE_ERROR, "the status entry is not an object")
    # §2.1 type: MUST be BitstringStatusListEntry.
    if ENTRY_TYPE not in _as_list(entry.get("type")):
        raise StatusListError(MALFORMED_VALUE_ERROR, f"the status entry is not a {ENTRY_TYPE}")
    # §2.1 statusPurpose: MUST be a string.
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError(MALFORMED_VALUE_ERROR, "statusPurpose must be a non-empty string")
    index = _entry_index(entry.get("statusListIndex"), allow_integer=allow_integer_index)
    messages = _entry_messages(entry)

    if not isinstance(list_credential, Mapping) or LIST_CREDENTIAL_TYPE not in _as_list(list_credential.get("type")):
        # §2.1 statusListCredential: the dereferenced credential MUST have type BitstringStatusListCredential.
        raise StatusListError(STATUS_VERIFICATION_ERROR, f"the status list credential is not a {LIST_CREDENTIAL_TYPE}")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or LIST_TYPE not in _as_list(subject.get("type")):
        # §2.2 credentialSubject.type MUST be BitstringStatusList.
        raise StatusListError(STATUS_VERIFICATION_ERROR, f"the status list credential's subject is not a {LIST_TYPE}")
    # §3.2 step 5: the entry's purpose must equal one of the list's (a list MAY carry several, §2.2).
    list_purposes = _as_list(subject.get("statusPurpose"))
    if purpose not in [p for p in list_purposes if isinstance(p, str)]:
        raise StatusListError(
            STATUS_VERIFICATION_ERROR,
            f"the entry's statusPurpose {purpose!r} does not match the list's {subject.get('statusPurpose')!r}",
        )
    # §3.2 steps 6-9: expand, then refuse a list shorter than minimumNumberOfEntries (statusSize is 1 here).
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise StatusListError(MALFORMED_VALUE_ERROR, "the list has no encodedList string")
    bitstring = Bitstring.decode(encoded, max_length=max_length)
    # §3.2 step 10: position = index × statusSize (1); outside the bitstring is a RANGE_ERROR.
    if index >= len(bitstring):
        raise StatusListError(RANGE_ERROR, f"statusListIndex {index} is outside the list of {len(bitstring)} entries")
    is_set = bitstring.get(index)
    return StatusResult(purpose=purpose, index=index, set=is_set, message=messages[int(is_set)])


def _entry_index(raw: Any, *, allow_integer: bool) -> int:
    # §2.1 statusListIndex: "an arbitrary size integer greater than or equal to 0, expressed as a string in base 10".
    if allow_integer and isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if not isinstance(raw, str) or not _DECIMAL.fullmatch(raw):
        raise StatusListError(
            MALFORMED_VALUE_ERROR,
            f"statusListIndex must be a non-negative integer written in base 10 as a string, not {raw!r}",
        )
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(MAX_LIST_LENGTH)):
        # "arbitrary size", but past any list we would expand; also keeps int() clear of Python's 4300-digit limit.
        raise StatusListError(RANGE_ERROR, f"statusListIndex {raw[:20]}… is outside any list")
    return int(digits)


def _entry_messages(entry: Mapping[str, Any]) -> tuple[str, str]:
    """The messages for status 0 and 1, after checking statusSize and statusMessage (§2.1)."""
    # §2.1 statusSize: absent means 1; present, it MUST be an integer greater than zero.
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise StatusListError(MALFORMED_VALUE_ERROR, f"statusSize must be an integer greater than zero, not {size!r}")
    if size != 1:
        # §1.3 Conformance: processors MAY support only entry size 1. We do; a wider entry cannot be read correctly.
        raise StatusListError(STATUS_VERIFICATION_ERROR, f"statusSize {size} is not supported (only 1)")
    if "statusMessage" not in entry:
        return "unset", "set"  # §2.1 statusMessage: the defaults for 0 and 1
    # §2.1 statusMessage: an array of 2**statusSize objects, each with a "0x…" status and a message string.
    messages = entry["statusMessage"]
    if not isinstance(messages, list) or len(messages) != 2**size:
        raise StatusListError(MALFORMED_VALUE_ERROR, "statusMessage must be an array of 2 entries for statusSize 1")
    by_status: dict[int, str] = {}
    for item in messages:
        status = item.get("status") if isinstance(item, Mapping) else None
        text = item.get("message") if isinstance(item, Mapping) else None
        if not isinstance(status, str) or not _HEX_STATUS.fullmatch(status) or not isinstance(text, str):
            raise StatusListError(MALFORMED_VALUE_ERROR, "each statusMessage needs a '0x…' status and a message string")
        by_status[int(status, 16)] = text
    if set(by_status) != {0, 1}:
        raise StatusListError(MALFORMED_VALUE_ERROR, "statusMessage must describe status 0x0 and 0x1")
    return by_status[0], by_status[1]
