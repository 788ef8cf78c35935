"""Baking credentials into PNG and SVG badges, and reading them back, strictly."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from issuer.badges import BakingError, badge_png, badge_svg, bake_png, bake_svg, unbake_png, unbake_svg

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "spec" / "vectors" / "1edtech-validator" / "ob30"
CREDENTIAL = json.dumps({"name": "Emerging ]]> <script>alert(1)</script> — ünïcode", "type": ["OpenBadgeCredential"]})
JWS = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"


@pytest.fixture(scope="module")
def png() -> bytes:
    return badge_png(level_name="Emerging", level_number=1, framework_name="Music Therapists")


@pytest.mark.parametrize("name", ["simple-json", "simple-jwt"])
def test_reads_1edtech_baked_samples(name: str) -> None:
    from_png = unbake_png((SAMPLES / f"{name}.png").read_bytes())
    from_svg = unbake_svg((SAMPLES / f"{name}.svg").read_bytes())
    for text in (from_png, from_svg):
        if name == "simple-json":
            assert "OpenBadgeCredential" in json.loads(text)["type"]
        else:
            assert text.count(".") == 2


def test_png_round_trip_keeps_a_valid_image(png: bytes) -> None:
    baked = bake_png(png, CREDENTIAL)
    assert unbake_png(baked) == CREDENTIAL
    image = Image.open(io.BytesIO(baked))
    image.verify()
    assert Image.open(io.BytesIO(baked)).size == Image.open(io.BytesIO(png)).size
    assert baked.count(b"openbadgecredential") == 1


def test_rebaking_replaces_the_chunk(png: bytes) -> None:
    twice = bake_png(bake_png(png, CREDENTIAL), JWS)
    assert twice.count(b"openbadgecredential") == 1
    assert unbake_png(twice) == JWS


def test_changed_byte_fails_the_crc_or_changes_the_text(png: bytes) -> None:
    baked = bytearray(bake_png(png, CREDENTIAL))
    at = baked.index(b"Emerging ]]>")
    baked[at] = ord("X")
    with pytest.raises(BakingError, match="CRC"):
        unbake_png(bytes(baked))
    start = baked.rfind(b"iTXt", 0, at) - 4
    (length,) = struct.unpack(">I", baked[start:start + 4])
    baked[start + 8 + length:start + 12 + length] = struct.pack(">I", zlib.crc32(bytes(baked[start + 4:start + 8 + length])))
    assert unbake_png(bytes(baked)) != CREDENTIAL


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a....", "not a PNG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "truncated"),
        (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 2**31 - 2) + b"IHDR", "truncated"),
    ],
)
def test_malformed_png_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_png(data)


def test_text_chunk_bomb_is_refused(png: bytes) -> None:
    chunk = b"tEXt" + b"k\0v"
    bomb_chunk = struct.pack(">I", 3) + chunk + struct.pack(">I", zlib.crc32(chunk))
    iend = png.rindex(b"IEND") - 4
    bomb = png[:iend] + bomb_chunk * 5000 + png[iend:]
    with pytest.raises(BakingError, match="text chunks"):
        unbake_png(bomb)


def test_png_without_credential_is_refused(png: bytes) -> None:
    with pytest.raises(BakingError, match="no openbadgecredential"):
        unbake_png(png)


@pytest.mark.parametrize(("credential", "jws"), [(CREDENTIAL, False), (JWS, True)])
def test_svg_round_trip(credential: str, jws: bool) -> None:
    svg = badge_svg(level_name="Emerging", level_number=1, framework_name="Music Therapists")
    baked = bake_svg(svg, credential, jws=jws)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert unbake_svg(baked) == credential
    assert unbake_svg(bake_svg(baked, credential, jws=jws)) == credential  # re-baking keeps one element


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         '<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>', "declares entities"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "script"),
        ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>', "event handler"),
        ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
         "<openbadges:credential>a</openbadges:credential><openbadges:credential>b</openbadges:credential></svg>",
         "more than one"),
        ("<svg", "not well-formed"),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', "no openbadges:credential"),
    ],
)
def test_hostile_svg_is_refused(svg: str, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_svg(svg)


def test_badge_svg_escapes_names_and_differs_by_level() -> None:
    evil = badge_svg(level_name="<script>x</script>", level_number=2, framework_name="A & B")
    assert "<script>" not in evil and "&lt;script&gt;" in evil and "A &amp; B" in evil
    from defusedxml import ElementTree

    ElementTree.fromstring(evil)
    assert badge_svg(level_name="Emerging", level_number=1, framework_name="M") != \
        badge_svg(level_name="Emerging", level_number=2, framework_name="M")


def test_badge_png_is_a_square_image_and_levels_differ() -> None:
    first = badge_png(level_name="Emerging", level_number=1, framework_name="Music Therapists", size=128)
    assert Image.open(io.BytesIO(first)).size == (128, 128)
    assert first != badge_png(level_name="Advanced", level_number=4, framework_name="Music Therapists", size=128)
