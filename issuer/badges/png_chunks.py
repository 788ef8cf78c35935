"""A bounded, strict reader and writer of PNG chunks (PNG spec, section 5 "Datastream structure").

Only the chunk layer is parsed: ``length (4) | type (4) | data | CRC-32 (4)``.
Nothing is decompressed, so a hostile file costs at most one pass over its
bytes. Limits are checked as the chunks are walked, before anything is
copied, so a "text chunk bomb" (thousands of text chunks, or one chunk that
declares gigabytes) is refused early with a message that says which limit it
hit.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from issuer.badges.errors import BakingError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG 5.3: a chunk's length is at most 2**31 - 1.
MAX_CHUNK_LENGTH = 0x7FFFFFFF
#: A badge is a picture, not an archive: far more chunks than any encoder writes.
MAX_CHUNKS = 4096
#: tEXt, zTXt and iTXt together. Image editors write a handful; 64 is generous.
MAX_TEXT_CHUNKS = 64
TEXT_CHUNK_TYPES = frozenset({b"tEXt", b"zTXt", b"iTXt"})

_HEADER = struct.Struct(">I4s")
_CRC = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: its type, its data, and where its bytes (header to CRC) sit in the file."""

    kind: bytes
    data: bytes
    start: int
    end: int


def crc32(kind: bytes, data: bytes) -> int:
    """PNG 5.5: the CRC covers the chunk type and data, not the length."""
    return zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF


def encode_chunk(kind: bytes, data: bytes) -> bytes:
    """A complete chunk with its length and CRC."""
    if len(data) > MAX_CHUNK_LENGTH:
        raise BakingError("the chunk is too large for a PNG")
    return _HEADER.pack(len(data), kind) + data + _CRC.pack(crc32(kind, data))


def read_chunks(png: bytes, *, max_bytes: int) -> list[Chunk]:  # noqa: PLR0912 (one check per rule of PNG 5.3, in order)
    """Every chunk from ``IHDR`` to ``IEND``, each with a checked CRC.

    Bytes after ``IEND`` are ignored (and so dropped by a re-bake).

    Raises:
        BakingError: not a PNG, truncated, a bad CRC, a malformed chunk type,
            or more chunks (or text chunks) than the limits allow.
    """
    if len(png) > max_bytes:
        raise BakingError(f"the image is larger than the {max_bytes:,}-byte limit")
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    chunks: list[Chunk] = []
    text_chunks = 0
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + _HEADER.size > len(png):
            raise BakingError("the PNG is truncated (it ends before its IEND chunk)")
        length, kind = _HEADER.unpack_from(png, pos)
        if length > MAX_CHUNK_LENGTH:
            raise BakingError(f"the PNG declares an impossible chunk length ({length:,} bytes)")
        end = pos + _HEADER.size + length + _CRC.size
        if end > len(png):
            raise BakingError(
                f"the PNG is truncated (a chunk declares {length:,} bytes but the file ends before them)"
            )
        # PNG 5.4: chunk types are four ASCII letters.
        if not kind.isalpha():
            raise BakingError("the PNG has a malformed chunk type")
        if not chunks and kind != b"IHDR":
            raise BakingError("the PNG does not start with an IHDR chunk")
        if len(chunks) >= MAX_CHUNKS:
            raise BakingError(f"the PNG has more than {MAX_CHUNKS} chunks")
        if kind in TEXT_CHUNK_TYPES:
            text_chunks += 1
            if text_chunks > MAX_TEXT_CHUNKS:
                raise BakingError(f"the PNG has more than {MAX_TEXT_CHUNKS} text chunks")
        data = png[pos + _HEADER.size : end - _CRC.size]
        (crc,) = _CRC.unpack_from(png, end - _CRC.size)
        if crc32(kind, data) != crc:
            raise BakingError(
                f"the PNG's {kind.decode('ascii')} chunk fails its CRC check (the file is damaged or was altered)"
            )
        chunks.append(Chunk(kind, data, pos, end))
        pos = end
        if kind == b"IEND":
            return chunks
