"""Baking a credential into a PNG iTXt chunk and reading it back, strictly (OB 3.0 "Baked Badge")."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from badge_support import AWKWARD_JSON, JWS, SAMPLES, before_iend, chunk_list, png_chunk
from issuer.badges import BakingError, bake_png, unbake_png


def test_reads_1edtechs_json_sample() -> None:
    credential = json.loads(unbake_png((SAMPLES / "simple-json.png").read_bytes()))
    assert "OpenBadgeCredential" in credential["type"]


def test_reads_1edtechs_jwt_sample() -> None:
    text = unbake_png((SAMPLES / "simple-jwt.png").read_bytes())
    header, payload, signature = text.split(".")
    assert header.startswith("eyJ")
    assert payload
    assert signature


@pytest.mark.parametrize("credential", [AWKWARD_JSON, JWS])
def test_round_trip_returns_the_exact_text(plain_png: bytes, credential: str) -> None:
    assert unbake_png(bake_png(plain_png, credential)) == credential


def test_baked_chunk_has_the_layout_ob3_requires(plain_png: bytes) -> None:
    chunks = chunk_list(bake_png(plain_png, AWKWARD_JSON))
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"
    assert kinds[-2] == b"iTXt"
    (data,) = [data for kind, data in chunks if kind == b"iTXt"]
    # keyword NUL, compression flag 0, method 0, empty language NUL, empty translated keyword NUL, UTF-8 text
    assert data == b"openbadgecredential\0\0\0\0\0" + AWKWARD_JSON.encode("utf-8")


def test_baked_png_is_still_the_same_valid_image(plain_png: bytes) -> None:
    baked = bake_png(plain_png, AWKWARD_JSON)
    Image.open(io.BytesIO(baked)).verify()
    with Image.open(io.BytesIO(baked)) as after, Image.open(io.BytesIO(plain_png)) as before:
        after.load()
        assert isinstance(after, PngImagePlugin.PngImageFile)
        assert after.size == before.size
        assert after.tobytes() == before.tobytes()
        assert after.text["openbadgecredential"] == AWKWARD_JSON


def test_rebaking_replaces_the_chunk_instead_of_adding_one(plain_png: bytes) -> None:
    twice = bake_png(bake_png(plain_png, AWKWARD_JSON), JWS)
    assert [kind for kind, _ in chunk_list(twice)].count(b"iTXt") == 1
    assert unbake_png(twice) == JWS


def test_rebakes_1edtechs_sample_keeping_its_other_chunks() -> None:
    sample = (SAMPLES / "simple-json.png").read_bytes()
    rebaked = bake_png(sample, JWS)
    assert unbake_png(rebaked) == JWS
    assert [k for k, _ in chunk_list(rebaked)] == [k for k, _ in chunk_list(sample)]


def test_reads_the_first_credential_chunk_when_there_are_two(plain_png: bytes) -> None:
    second = png_chunk(b"iTXt", b"openbadgecredential\0\0\0\0\0second")
    doubled = before_iend(bake_png(plain_png, "first"), second)
    assert unbake_png(doubled) == "first"


def _flip_credential_byte(baked: bytes, marker: bytes) -> bytearray:
    altered = bytearray(baked)
    altered[altered.index(marker)] ^= 0x01  # "E" -> "D"
    return altered


def test_a_changed_byte_without_a_fixed_crc_is_refused(plain_png: bytes) -> None:
    altered = _flip_credential_byte(bake_png(plain_png, AWKWARD_JSON), b"Emerging ]]>")
    with pytest.raises(BakingError, match="iTXt chunk fails its CRC check"):
        unbake_png(bytes(altered))


def test_a_changed_byte_with_a_recomputed_crc_reads_as_different_text(plain_png: bytes) -> None:
    altered = _flip_credential_byte(bake_png(plain_png, AWKWARD_JSON), b"Emerging ]]>")
    start = altered.rindex(b"iTXt") - 4
    (length,) = struct.unpack(">I", altered[start : start + 4])
    crc_at = start + 8 + length
    altered[crc_at : crc_at + 4] = struct.pack(">I", zlib.crc32(bytes(altered[start + 4 : crc_at])))
    text = unbake_png(bytes(altered))
    assert text != AWKWARD_JSON
    assert text == AWKWARD_JSON.replace("Emerging ]]>", "Dmerging ]]>")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a PNG image"),
        (b"GIF89a\x01\x00\x01\x00", "not a PNG image"),
        (b"\x89PNG\r\n\x1a\n", "truncated"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "truncated"),
        # one chunk declaring 2 GiB in a tiny file: refused without reading or allocating it
        (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 2**31 - 1) + b"IHDR" + b"\0" * 32, "truncated"),
        (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 2**32 - 1) + b"IHDR", "impossible chunk length"),
        (b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"a\0b"), "does not start with an IHDR"),
        (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IH\0R", b""), "malformed chunk type"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_png(data)


def test_a_cut_off_baked_png_is_refused(plain_png: bytes) -> None:
    baked = bake_png(plain_png, AWKWARD_JSON)
    for cut in (1, 12, 40, len(baked) // 2):
        with pytest.raises(BakingError, match="truncated"):
            unbake_png(baked[:-cut])


def test_thousands_of_text_chunks_are_refused(plain_png: bytes) -> None:
    bomb = before_iend(bake_png(plain_png, JWS), png_chunk(b"tEXt", b"Comment\0x") * 5000)
    with pytest.raises(BakingError, match="more than 64 text chunks"):
        unbake_png(bomb)


def test_thousands_of_other_chunks_are_refused(plain_png: bytes) -> None:
    bomb = before_iend(bake_png(plain_png, JWS), png_chunk(b"quIt", b"") * 5000)
    with pytest.raises(BakingError, match="more than 4096 chunks"):
        unbake_png(bomb)


def test_files_over_the_size_limit_are_refused_before_parsing(plain_png: bytes) -> None:
    with pytest.raises(BakingError, match="larger than the 1,000-byte limit"):
        unbake_png(bake_png(plain_png, JWS), max_bytes=1000)


def test_an_oversized_credential_is_refused(plain_png: bytes) -> None:
    big = before_iend(plain_png, png_chunk(b"iTXt", b"openbadgecredential\0\0\0\0\0" + b"a" * 2048))
    with pytest.raises(BakingError, match="larger than the 1,024-byte limit"):
        unbake_png(big, max_credential_bytes=1024)
    with pytest.raises(BakingError, match="larger than the 1,048,576-byte limit"):
        bake_png(plain_png, "a" * (1024 * 1024 + 1))


def test_a_compressed_credential_is_refused_without_inflating_it(plain_png: bytes) -> None:
    # 64 MiB of zeros, deflated: reading it must not inflate it.
    zipped = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    bomb = before_iend(plain_png, png_chunk(b"iTXt", b"openbadgecredential\0\1\0\0\0" + zipped))
    with pytest.raises(BakingError, match=r"compressed, which OB 3\.0 forbids"):
        unbake_png(bomb)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"openbadgecredential\0\0\0\0\0\xff\xfe{}", "not valid UTF-8"),
        (b"openbadgecredential\0\0", "truncated"),
        (b"openbadgecredential\0\0\0en", "malformed"),
        (b"openbadgecredential\0\0\0\0\0   ", "empty"),
    ],
)
def test_a_bad_credential_chunk_is_refused(plain_png: bytes, data: bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_png(before_iend(plain_png, png_chunk(b"iTXt", data)))


def test_a_png_without_a_credential_is_refused(plain_png: bytes) -> None:
    # A tEXt chunk with the right keyword is not the OB 3.0 form, and neither is the OB 2.0 "openbadges" iTXt.
    other = png_chunk(b"tEXt", b"openbadgecredential\0{}") + png_chunk(b"iTXt", b"openbadges\0\0\0\0\0{}")
    with pytest.raises(BakingError, match="holds no openbadgecredential chunk"):
        unbake_png(before_iend(plain_png, other))


def test_baking_into_a_broken_png_is_refused(plain_png: bytes) -> None:
    with pytest.raises(BakingError, match="truncated"):
        bake_png(plain_png[:-5], JWS)
    with pytest.raises(BakingError, match="empty"):
        bake_png(plain_png, "  ")
    with pytest.raises(BakingError, match="lone surrogate"):
        bake_png(plain_png, "\ud800")
