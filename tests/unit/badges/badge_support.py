"""Shared inputs for the badge tests: 1EdTech's baked samples, awkward credential texts, PNG chunk helpers."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

#: 1EdTech's validator samples, vendored byte for byte (tests/vectors/SOURCES.md).
SAMPLES = Path(__file__).resolve().parents[2] / "vectors" / "1edtech-validator" / "ob30"

#: A JSON credential with everything that breaks naive baking: "]]>", markup, a "/>" and an end tag, non-ASCII.
AWKWARD_JSON = json.dumps(
    {
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Emerging ]]> <script>alert(1)</script> <br/> </openbadges:credential> — Musiktherapeut:in ♪ 音楽",
    },
    ensure_ascii=False,
)
JWS = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJkaWQ6d2ViOmV4YW1wbGUub3JnIn0.c2lnbmF0dXJlLWJ5dGVz"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """An independently built chunk (the tests do not trust the code under test to frame their inputs)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def chunk_list(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, read with plain struct calls."""
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def before_iend(png: bytes, extra: bytes) -> bytes:
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + extra + png[iend:]
