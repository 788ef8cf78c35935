"""Bitstring Status List v1.0: bits, encodedList, index allocation, entries and entry validation."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import random
import struct
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from issuer.credentials.status_list import (
    MIN_LIST_LENGTH,
    STATUS_PURPOSES,
    Bitstring,
    StatusListError,
    StatusListFull,
    build_status_list_credential,
    check_entry,
    random_free_index,
    status_entry,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors"  # vendored byte for byte: tests/vectors/SOURCES.md
SAMPLES = VECTORS / "1edtech-validator" / "ob30" / "bit-string-list"
W3C_LIST = VECTORS / "bitstring-status-list" / "example-bitstring-status-list-credential.json"
LIST_URL = "https://issuer.example.org/status/1"
ISSUER = "did:web:issuer.example.org"
VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def plain_decode(encoded: str) -> bytes:
    """What any verifier does: strip the multibase 'u', base64url-decode, gunzip."""
    return gzip.decompress(raw_gzip(encoded))


def raw_gzip(encoded: str) -> bytes:
    body = encoded[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def u_gzip(raw: bytes) -> str:
    """An encodedList built without our code, for inputs our encoder would never make."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(raw, mtime=0)).decode().rstrip("=")


def set_indexes(bits: Bitstring) -> list[int]:
    return [i for i in range(len(bits)) if bits.get(i)]


def list_credential(purpose: str = "revocation", bits: Bitstring | None = None) -> dict[str, Any]:
    return build_status_list_credential(list_url=LIST_URL, issuer=ISSUER, purpose=purpose,
                                        bitstring=bits if bits is not None else Bitstring(), valid_from=VALID_FROM)


def entry(index: Any = 0, purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {**status_entry(list_url=LIST_URL, purpose=purpose, index=0), "statusListIndex": index, **extra}


def error_code(excinfo: pytest.ExceptionInfo[StatusListError]) -> str:
    return excinfo.value.code


# --- published vectors ------------------------------------------------------------------------------------------


def test_1edtech_testlist_has_only_bit_23_set() -> None:
    testlist = load(SAMPLES / "testlist")
    bits = Bitstring.decode(testlist["credentialSubject"]["encodedList"])
    assert len(bits) == 131_072
    assert set_indexes(bits) == [23]
    assert bits.to_bytes()[:4] == bytes([0, 0, 0b0000_0001, 0])  # MSB-first: bit 23 is the last bit of byte 2


def test_1edtech_revoked_sample_reads_as_set_at_23() -> None:
    testlist = load(SAMPLES / "testlist")
    sample_entry = load(SAMPLES / "credential-status-revoked.json")["credentialStatus"]
    result = check_entry(sample_entry, testlist, allow_integer_index=True)  # the sample's index is the number 23
    assert (result.purpose, result.index, result.set, result.valid) == ("revocation", 23, True, False)
    assert result.message == "set"


def test_1edtech_sample_integer_index_is_malformed_by_default() -> None:
    # §2.1: statusListIndex MUST be a string; the sample's JSON number is read only on request.
    testlist = load(SAMPLES / "testlist")
    sample_entry = load(SAMPLES / "credential-status-revoked.json")["credentialStatus"]
    assert sample_entry["statusListIndex"] == 23
    with pytest.raises(StatusListError) as excinfo:
        check_entry(sample_entry, testlist)
    assert error_code(excinfo) == "MALFORMED_VALUE_ERROR"


def test_w3c_example_list_is_131072_zero_bits() -> None:
    example = load(W3C_LIST)
    bits = Bitstring.decode(example["credentialSubject"]["encodedList"])
    assert len(bits) == MIN_LIST_LENGTH
    assert bits.to_bytes() == bytes(MIN_LIST_LENGTH // 8)
    assert bits.count() == 0


# --- encoding ---------------------------------------------------------------------------------------------------


def test_encoding_reads_with_plain_gzip_msb_first() -> None:
    bits = Bitstring()
    for index in (0, 7, 8, 131_071):
        bits.set(index, True)
    encoded = bits.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert "+" not in encoded
    assert "/" not in encoded
    expected = bytearray(MIN_LIST_LENGTH // 8)
    expected[0], expected[1], expected[-1] = 0b1000_0001, 0b1000_0000, 0b0000_0001
    assert plain_decode(encoded) == bytes(expected)


def test_round_trip_keeps_exactly_the_set_bits() -> None:
    bits = Bitstring(MIN_LIST_LENGTH * 2)
    chosen = sorted(random.Random(7).sample(range(len(bits)), 500))
    for index in chosen:
        bits.set(index, True)
    again = Bitstring.decode(bits.encode())
    assert len(again) == MIN_LIST_LENGTH * 2
    assert again == bits
    assert set_indexes(again) == chosen


def test_clearing_a_bit_restores_the_empty_encoding() -> None:
    bits = Bitstring()
    empty = bits.encode()
    bits.set(42, True)
    assert bits.get(42)
    assert not bits.get(41)
    assert not bits.get(43)
    assert bits.encode() != empty
    bits.set(42, False)
    assert bits.encode() == empty


def test_encoding_is_deterministic() -> None:
    one, two = Bitstring(), Bitstring()
    for bits in (one, two):
        bits.set(1234, True)
        bits.set(99_999, True)
    assert one.encode() == two.encode() == Bitstring.from_bytes(one.to_bytes()).encode()
    assert Bitstring.decode(one.encode()).encode() == one.encode()
    assert raw_gzip(one.encode())[4:8] == b"\0\0\0\0"  # RFC 1952 MTIME is zero: no clock in the bytes


@pytest.mark.parametrize("index", [-1, MIN_LIST_LENGTH, MIN_LIST_LENGTH + 8])
def test_index_outside_the_bitstring_is_a_range_error(index: int) -> None:
    bits = Bitstring()
    for operation in (lambda: bits.get(index), lambda: bits.set(index, True)):
        with pytest.raises(StatusListError) as excinfo:
            operation()
        assert error_code(excinfo) == "RANGE_ERROR"
    assert bits.count() == 0


@pytest.mark.parametrize("length", [MIN_LIST_LENGTH - 8, 1024, MIN_LIST_LENGTH + 1])
def test_short_or_ragged_bitstring_cannot_be_made(length: int) -> None:
    with pytest.raises(StatusListError) as excinfo:
        Bitstring(length)
    assert error_code(excinfo) == "STATUS_LIST_LENGTH_ERROR"


def test_short_list_is_refused_on_decode() -> None:
    with pytest.raises(StatusListError) as excinfo:
        Bitstring.decode(u_gzip(bytes(MIN_LIST_LENGTH // 8 - 1)))
    assert error_code(excinfo) == "STATUS_LIST_LENGTH_ERROR"
    assert len(Bitstring.decode(u_gzip(bytes(MIN_LIST_LENGTH // 8)))) == MIN_LIST_LENGTH  # the boundary is fine


def one_member_gzip_bomb(*, chunk: int, copies: int) -> str:
    """One valid GZIP member inflating to ``chunk * copies`` zero bytes, built without compressing all of it."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(bytes(chunk)) + deflate.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no back-references
    crc = 0
    zeros = bytes(chunk)
    for _ in range(copies):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # RFC 1952: magic, deflate, no flags, mtime 0
    trailer = struct.pack("<II", crc, (chunk * copies) & 0xFFFFFFFF)
    member = header + block * copies + deflate.flush() + trailer
    return "u" + base64.urlsafe_b64encode(member).decode().rstrip("=")


def test_one_member_bomb_is_a_valid_gzip_file() -> None:
    assert plain_decode(one_member_gzip_bomb(chunk=1024, copies=3)) == bytes(3072)


def test_gzip_bomb_is_refused_quickly_and_without_inflating_it() -> None:
    bomb = one_member_gzip_bomb(chunk=8 * 1024 * 1024, copies=64)  # 512 MiB from about 0.7 MB of encodedList
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(StatusListError) as excinfo:
            Bitstring.decode(bomb)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error_code(excinfo) == "MALFORMED_VALUE_ERROR"
    assert "more than" in str(excinfo.value)
    assert elapsed < 2
    assert peak < 100 * 1024 * 1024  # the 16 MiB cap and a copy or two, not the 512 MiB


def test_decode_caps_are_adjustable() -> None:
    two_lists = Bitstring(MIN_LIST_LENGTH * 2).encode()
    with pytest.raises(StatusListError, match="more than"):
        Bitstring.decode(two_lists, max_length=MIN_LIST_LENGTH)
    with pytest.raises(StatusListError, match="compressed bytes"):
        Bitstring.decode(two_lists, max_compressed=16)
    assert len(Bitstring.decode(two_lists, max_length=MIN_LIST_LENGTH * 2)) == MIN_LIST_LENGTH * 2


def test_multi_member_gzip_is_read_like_gzip_decompress() -> None:
    half = MIN_LIST_LENGTH // 16
    raw = gzip.compress(bytes(half)) + gzip.compress(b"\x80" + bytes(half - 1))
    bits = Bitstring.decode("u" + base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert set_indexes(bits) == [half * 8]


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "zH4sIAAAAAAAAA",  # multibase base58btc, not base64url
        "UH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",  # "U" is padded base64url
        "uH4sIAAAAAAAAA+3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",  # "+" is base64, not base64url
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA==",  # padding
        "u!!!!",
        "uAAAAA",  # 4n+1 characters
        "u",
        "u" + base64.urlsafe_b64encode(b"plain text, not gzip").decode().rstrip("="),
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAA",  # truncated GZIP
        "u"
        + base64.urlsafe_b64encode(gzip.compress(bytes(MIN_LIST_LENGTH // 8), mtime=0) + b"junk").decode().rstrip("="),
    ],
)
def test_undecodable_lists_are_malformed(encoded: str) -> None:
    with pytest.raises(StatusListError) as excinfo:
        Bitstring.decode(encoded)
    assert error_code(excinfo) == "MALFORMED_VALUE_ERROR"
    assert excinfo.value.problem_type == "https://www.w3.org/ns/credentials/status-list#MALFORMED_VALUE_ERROR"


# --- allocation -------------------------------------------------------------------------------------------------


def test_random_free_index_never_returns_a_taken_index() -> None:
    rng = random.Random(1)
    taken = set(rng.sample(range(MIN_LIST_LENGTH), MIN_LIST_LENGTH * 9 // 10))  # 90 % full
    for _ in range(300):
        index = random_free_index(taken=taken, length=MIN_LIST_LENGTH, rng=rng)
        assert 0 <= index < MIN_LIST_LENGTH
        assert index not in taken
        taken.add(index)


def test_random_free_index_accepts_a_predicate() -> None:
    odd_taken = random_free_index(taken=lambda i: i % 2 == 1, length=1000, rng=random.Random(3))
    assert odd_taken % 2 == 0


@pytest.mark.parametrize("free", [0, 1, 65_535, MIN_LIST_LENGTH - 1])
def test_random_free_index_finds_the_only_free_index(free: int) -> None:
    taken = set(range(MIN_LIST_LENGTH)) - {free}
    started = time.monotonic()
    assert random_free_index(taken=taken, length=MIN_LIST_LENGTH, rng=random.Random(free)) == free
    assert time.monotonic() - started < 1


def test_random_free_index_raises_when_full() -> None:
    with pytest.raises(StatusListFull) as excinfo:
        random_free_index(taken=set(range(MIN_LIST_LENGTH)), length=MIN_LIST_LENGTH)
    assert excinfo.value.length == MIN_LIST_LENGTH
    with pytest.raises(StatusListFull):
        random_free_index(taken=lambda _: True, length=10)
    assert not issubclass(StatusListFull, StatusListError)  # a verifier's except StatusListError must not catch it


def test_random_free_index_is_not_sequential() -> None:
    taken: set[int] = set()
    draws = []
    for _ in range(100):
        index = random_free_index(taken=taken, length=MIN_LIST_LENGTH)  # the default CSPRNG
        taken.add(index)
        draws.append(index)
    assert len(set(draws)) == 100
    assert draws != sorted(draws)
    assert draws != sorted(draws, reverse=True)
    assert sum(1 for a, b in itertools.pairwise(draws) if abs(a - b) == 1) < 5
    assert max(draws) - min(draws) > MIN_LIST_LENGTH // 2  # spread over the list, not clustered at the start
    assert sum(1 for index in draws if index < MIN_LIST_LENGTH // 2) in range(25, 76)


def test_random_free_index_is_uniform_while_there_is_room() -> None:
    rng = random.Random(11)
    counts = [0] * 8
    for _ in range(8000):
        counts[random_free_index(taken={0, 1, 2, 3}, length=12, rng=rng) - 4] += 1
    assert all(900 < count < 1100 for count in counts)


@pytest.mark.parametrize("length", [0, -5, True])
def test_random_free_index_rejects_a_silly_length(length: int) -> None:
    with pytest.raises(ValueError, match="length must be a positive int"):
        random_free_index(taken=set(), length=length)


# --- entries and list credentials -------------------------------------------------------------------------------


def test_entry_shape_keeps_the_index_a_string() -> None:
    assert status_entry(list_url=LIST_URL, purpose="revocation", index=94567) == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    assert STATUS_PURPOSES == ("revocation", "suspension")


@pytest.mark.parametrize(
    ("purpose", "index", "url", "refusal"),
    [
        ("refresh", 1, LIST_URL, "unknown status purpose"),
        ("revocation", -1, LIST_URL, "non-negative int"),
        ("revocation", True, LIST_URL, "non-negative int"),
        ("revocation", "5", LIST_URL, "non-negative int"),
        ("revocation", 1, LIST_URL + "#x", "must not have a fragment"),
    ],
)
def test_entry_refuses_bad_arguments(purpose: str, index: Any, url: str, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        status_entry(list_url=url, purpose=purpose, index=index)


def test_list_credential_shape() -> None:
    bits = Bitstring()
    bits.set(5, True)
    credential = build_status_list_credential(
        list_url=LIST_URL, issuer={"id": ISSUER, "type": ["Profile"]}, purpose="suspension", bitstring=bits,
        valid_from=datetime(2026, 3, 1, 12, 30, 15, 999_999, tzinfo=timezone(timedelta(hours=2))),
        valid_until=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"]},
        "validFrom": "2026-03-01T10:30:15Z",
        "validUntil": "2026-03-02T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "suspension",
            "encodedList": bits.encode(),
        },
    }
    assert "validUntil" not in list_credential()


@pytest.mark.parametrize(
    ("kwargs", "refusal"),
    [
        ({"purpose": "message"}, "unknown status purpose"),
        ({"valid_from": datetime(2026, 1, 1)}, "has no time zone"),  # noqa: DTZ001 (naive on purpose: refused)
        ({"valid_until": VALID_FROM}, "valid_until must be after valid_from"),
    ],
)
def test_list_credential_refuses_bad_arguments(kwargs: dict[str, Any], refusal: str) -> None:
    arguments: dict[str, Any] = {"list_url": LIST_URL, "issuer": ISSUER, "purpose": "revocation",
                                 "bitstring": Bitstring(), "valid_from": VALID_FROM, **kwargs}
    with pytest.raises(ValueError, match=refusal):
        build_status_list_credential(**arguments)


# --- validation (§3.2) ------------------------------------------------------------------------------------------


def test_set_bit_is_read_back_and_neighbours_are_not() -> None:
    bits = Bitstring()
    bits.set(1234, True)
    credential = list_credential(bits=bits)
    assert check_entry(entry("1234"), credential).set
    assert check_entry(entry("1234"), credential).message == "set"
    assert not check_entry(entry("1233"), credential).set
    assert not check_entry(entry("1235"), credential).set
    assert check_entry(entry("1235"), credential).message == "unset"


def test_suspension_entry_reads_a_suspension_list() -> None:
    bits = Bitstring()
    bits.set(7, True)
    result = check_entry(status_entry(list_url=LIST_URL, purpose="suspension", index=7),
                         list_credential("suspension", bits))
    assert (result.purpose, result.index, result.set) == ("suspension", 7, True)


def test_purpose_mismatch_is_a_verification_error() -> None:
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry("3", purpose="suspension"), list_credential("revocation"))
    assert error_code(excinfo) == "STATUS_VERIFICATION_ERROR"


def test_a_list_with_several_purposes_matches_any_of_them() -> None:
    credential = list_credential()
    credential["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    assert check_entry(entry("3", purpose="suspension"), credential).purpose == "suspension"


@pytest.mark.parametrize("index", ["-1", "1e3", "0x10", "", " 5", "5 ", "+5", "5\n", "1.0", "١٢", 5, -1, 1.0, True,
                                   None, ["5"]])
def test_malformed_index_is_refused(index: object) -> None:
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry(index), list_credential())
    assert error_code(excinfo) == "MALFORMED_VALUE_ERROR"


def test_integer_index_opt_in_reads_numbers_and_strings() -> None:
    assert check_entry(entry(7), list_credential(), allow_integer_index=True).index == 7
    assert check_entry(entry("7"), list_credential(), allow_integer_index=True).index == 7


@pytest.mark.parametrize("index", [-1, True, 1.0])
def test_integer_index_opt_in_still_refuses_non_integers(index: object) -> None:
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry(index), list_credential(), allow_integer_index=True)
    assert error_code(excinfo) == "MALFORMED_VALUE_ERROR"


@pytest.mark.parametrize("index", [str(MIN_LIST_LENGTH), str(MIN_LIST_LENGTH + 1), "9" * 5000])
def test_index_beyond_the_list_is_a_range_error(index: str) -> None:
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry(index), list_credential())
    assert error_code(excinfo) == "RANGE_ERROR"
    assert "outside" in str(excinfo.value)


def test_last_index_and_leading_zeros_are_in_range() -> None:
    bits = Bitstring()
    bits.set(MIN_LIST_LENGTH - 1, True)
    assert check_entry(entry(str(MIN_LIST_LENGTH - 1)), list_credential(bits=bits)).set
    assert check_entry(entry("000"), list_credential()).index == 0


def test_short_list_is_a_length_error_in_validation() -> None:
    credential = list_credential()
    credential["credentialSubject"]["encodedList"] = u_gzip(bytes(1024))
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry("3"), credential)
    assert error_code(excinfo) == "STATUS_LIST_LENGTH_ERROR"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "StatusList2021Entry"}, "MALFORMED_VALUE_ERROR"),
        ({"statusPurpose": None}, "MALFORMED_VALUE_ERROR"),
        ({"statusPurpose": ["revocation"]}, "MALFORMED_VALUE_ERROR"),
        ({"statusSize": 0}, "MALFORMED_VALUE_ERROR"),
        ({"statusSize": "1"}, "MALFORMED_VALUE_ERROR"),
        ({"statusSize": True}, "MALFORMED_VALUE_ERROR"),
        ({"statusSize": 2}, "STATUS_VERIFICATION_ERROR"),
        ({"statusMessage": [{"status": "0x0", "message": "valid"}]}, "MALFORMED_VALUE_ERROR"),
        (
            {"statusMessage": [{"status": "0", "message": "a"}, {"status": "1", "message": "b"}]},
            "MALFORMED_VALUE_ERROR",
        ),
        (
            {"statusMessage": [{"status": "0x0", "message": "a"}, {"status": "0x0", "message": "b"}]},
            "MALFORMED_VALUE_ERROR",
        ),
    ],
)
def test_malformed_entry_is_refused(change: dict[str, Any], code: str) -> None:
    with pytest.raises(StatusListError) as excinfo:
        check_entry({**entry("3"), **change}, list_credential())
    assert error_code(excinfo) == code


def test_status_size_one_and_messages_are_read() -> None:
    bits = Bitstring()
    bits.set(3, True)
    messages = [{"status": "0x1", "message": "revoked by registrar"}, {"status": "0x0", "message": "in good standing"}]
    result = check_entry(entry("3", statusSize=1, statusMessage=messages), list_credential(bits=bits))
    assert result.set
    assert result.message == "revoked by registrar"
    assert check_entry(entry("4", statusMessage=messages), list_credential(bits=bits)).message == "in good standing"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda c: c.update(type=["VerifiableCredential"]), "STATUS_VERIFICATION_ERROR"),
        (lambda c: c["credentialSubject"].update(type="StatusList2021"), "STATUS_VERIFICATION_ERROR"),
        (lambda c: c.update(credentialSubject=[c["credentialSubject"]]), "STATUS_VERIFICATION_ERROR"),
        (lambda c: c["credentialSubject"].pop("encodedList"), "MALFORMED_VALUE_ERROR"),
        (lambda c: c["credentialSubject"].update(encodedList="zNotBase64url"), "MALFORMED_VALUE_ERROR"),
    ],
)
def test_not_a_bitstring_list_is_refused(mutate: Any, code: str) -> None:
    credential = list_credential()
    mutate(credential)
    with pytest.raises(StatusListError) as excinfo:
        check_entry(entry("3"), credential)
    assert error_code(excinfo) == code


def test_garbage_inputs_raise_status_list_errors_only() -> None:
    for bad_entry, bad_list in [(None, list_credential()), ("x", list_credential()), (entry("1"), None),
                                (entry("1"), {"type": 5}), ({}, {})]:
        with pytest.raises(StatusListError):
            check_entry(bad_entry, bad_list)  # type: ignore[arg-type]
