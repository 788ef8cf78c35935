"""Bitstring Status List v1.0: encoding, decoding, entries and their validation."""

from __future__ import annotations

import base64
import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from issuer.credentials.status_list import (
    MIN_LIST_LENGTH,
    Bitstring,
    StatusListError,
    build_status_list_credential,
    check_entry,
    status_entry,
)

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "spec" / "vectors"
SAMPLES = VECTORS / "1edtech-validator" / "ob30" / "bit-string-list"
LIST_URL = "https://issuer.example.org/status/1"


def plain_decode(encoded: str) -> bytes:
    """What any verifier does: strip the multibase 'u', base64url-decode, gunzip."""
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_1edtech_testlist_has_only_bit_23_set() -> None:
    testlist = json.loads((SAMPLES / "testlist").read_text())
    bits = Bitstring.decode(testlist["credentialSubject"]["encodedList"])
    assert len(bits) == 131_072
    assert [i for i in range(len(bits)) if bits.get(i)] == [23]
    revoked = json.loads((SAMPLES / "credential-status-revoked.json").read_text())
    result = check_entry(revoked["credentialStatus"], testlist)
    assert (result.purpose, result.index, result.set) == ("revocation", 23, True)


def test_w3c_example_list_is_all_zero() -> None:
    example = json.loads((VECTORS / "bitstring-status-list" / "example-bitstring-status-list-credential.json").read_text())
    bits = Bitstring.decode(example["credentialSubject"]["encodedList"])
    assert len(bits) == MIN_LIST_LENGTH and not any(bits.to_bytes())


def test_encoding_reads_with_plain_gzip_and_msb_first_order() -> None:
    bits = Bitstring()
    for index in (0, 7, 8, 131_071):
        bits.set(index, True)
    raw = plain_decode(bits.encode())
    assert raw[0] == 0b1000_0001 and raw[1] == 0b1000_0000 and raw[-1] == 0b0000_0001
    assert sum(bin(b).count("1") for b in raw) == 4


def test_round_trip_and_determinism() -> None:
    bits = Bitstring()
    bits.set(42, True)
    assert bits.encode() == Bitstring.from_bytes(bits.to_bytes()).encode()
    again = Bitstring.decode(bits.encode())
    assert again.get(42) and not again.get(41)
    again.set(42, False)
    assert not any(again.to_bytes())


@pytest.mark.parametrize("index", [-1, MIN_LIST_LENGTH])
def test_index_out_of_range(index: int) -> None:
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        Bitstring().get(index)


def test_short_list_is_refused() -> None:
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).decode().rstrip("=")
    with pytest.raises(StatusListError, match="STATUS_LIST_LENGTH_ERROR"):
        Bitstring.decode(short)


def test_gzip_bomb_is_refused_quickly() -> None:
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 * 1024 * 1024))).decode().rstrip("=")
    started = time.monotonic()
    with pytest.raises(StatusListError, match="more than"):
        Bitstring.decode(bomb)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("encoded", ["zABC", "u!!!not-base64", "u" + base64.urlsafe_b64encode(b"plain").decode()])
def test_undecodable_lists_are_refused(encoded: str) -> None:
    with pytest.raises(StatusListError, match="STATUS_LIST_DECODE_ERROR"):
        Bitstring.decode(encoded)


def list_credential(purpose: str = "revocation", bits: Bitstring | None = None) -> dict:
    return build_status_list_credential(list_url=LIST_URL, issuer="did:web:issuer.example.org", purpose=purpose,
                                        bitstring=bits or Bitstring(), valid_from=datetime(2026, 1, 1, tzinfo=UTC))


def test_entry_shape_keeps_the_index_a_string() -> None:
    entry = status_entry(list_url=LIST_URL, purpose="revocation", index=94567)
    assert entry == {"id": f"{LIST_URL}#94567", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                     "statusListIndex": "94567", "statusListCredential": LIST_URL}
    credential = list_credential()
    assert credential["credentialSubject"]["type"] == "BitstringStatusList"
    assert credential["validFrom"] == "2026-01-01T00:00:00Z"


def test_purpose_mismatch_is_refused() -> None:
    entry = status_entry(list_url=LIST_URL, purpose="suspension", index=3)
    with pytest.raises(StatusListError, match="does not match"):
        check_entry(entry, list_credential("revocation"))


@pytest.mark.parametrize("index", ["-1", "1e3", "0x10", "", True, None, "١٢"])
def test_malformed_index_is_refused(index: object) -> None:
    entry = {**status_entry(list_url=LIST_URL, purpose="revocation", index=0), "statusListIndex": index}
    with pytest.raises(StatusListError, match="MALFORMED_VALUE_ERROR"):
        check_entry(entry, list_credential())


def test_index_beyond_the_list_is_refused() -> None:
    entry = status_entry(list_url=LIST_URL, purpose="revocation", index=MIN_LIST_LENGTH + 1)
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        check_entry(entry, list_credential())


def test_set_bit_is_read_back() -> None:
    bits = Bitstring()
    bits.set(1234, True)
    assert check_entry(status_entry(list_url=LIST_URL, purpose="revocation", index=1234), list_credential(bits=bits)).set
    assert not check_entry(status_entry(list_url=LIST_URL, purpose="revocation", index=1235), list_credential(bits=bits)).set
