"""Baking credentials into badge images, and reading them back (OB 3.0 "Baked Badge").

PNG: one ``iTXt`` chunk, keyword ``openbadgecredential``, uncompressed, empty
language tag and translated keyword, before ``IEND``. SVG: an
``<openbadges:credential>`` element right after the ``<svg>`` start tag, the
JSON in CDATA or the JWS in a ``verify`` attribute. Readers are strict and
bounded: chunk count and sizes are capped, nothing is decompressed, and SVG
is parsed with DTDs, entities and scripts refused.
"""

from __future__ import annotations

import re
import struct
import zlib
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
MAX_CREDENTIAL_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_CHUNKS = 4096
MAX_TEXT_CHUNKS = 64
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class BakingError(ValueError):
    """An image that holds no readable credential, or one we refuse to read."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _chunks(png: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """(type, data, start, end) of every chunk, checked: signature, lengths, CRCs, IEND last."""
    if len(png) > MAX_IMAGE_BYTES:
        raise BakingError(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    chunks = []
    text_chunks = 0
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(png):
            raise BakingError("the PNG is truncated (a chunk header is cut off)")
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(png):
            raise BakingError("the PNG is truncated (a chunk is longer than the file)")
        if not kind.isalpha():
            raise BakingError("the PNG has a malformed chunk type")
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
            raise BakingError(f"the PNG's {kind.decode('latin-1')} chunk fails its CRC check (the file was altered)")
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            text_chunks += 1
            if text_chunks > MAX_TEXT_CHUNKS:
                raise BakingError(f"the PNG has more than {MAX_TEXT_CHUNKS} text chunks")
        chunks.append((kind, data, pos, end))
        if len(chunks) > MAX_CHUNKS:
            raise BakingError(f"the PNG has more than {MAX_CHUNKS} chunks")
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise BakingError("the PNG does not start with an IHDR chunk")
    return chunks


def _credential_chunk(data: bytes) -> tuple[bool, bytes]:
    """(is ours, the text) for an iTXt chunk's data."""
    keyword, sep, rest = data.partition(b"\0")
    if not sep or keyword != KEYWORD:
        return False, b""
    if len(rest) < 2:
        raise BakingError("the openbadgecredential chunk is truncated")
    compression_flag, _method = rest[0], rest[1]
    if compression_flag != 0:
        raise BakingError("the openbadgecredential chunk is compressed, which OB 3.0 forbids")
    rest = rest[2:]
    _language, sep1, rest = rest.partition(b"\0")
    _translated, sep2, text = rest.partition(b"\0")
    if not (sep1 and sep2):
        raise BakingError("the openbadgecredential chunk is malformed")
    return True, text


def bake_png(png: bytes, credential: str) -> bytes:
    """Embed ``credential`` (JSON or compact JWS), replacing any credential already baked in."""
    text = credential.encode("utf-8")
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise BakingError("the credential is too large to bake")
    out = [PNG_SIGNATURE]
    for kind, data, start, end in _chunks(png):
        if kind == b"iTXt" and _credential_chunk(data)[0]:
            continue  # never two: re-baking replaces
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", KEYWORD + b"\0\0\0\0\0" + text))
        out.append(png[start:end])
    return b"".join(out)


def unbake_png(data: bytes, *, max_bytes: int = MAX_CREDENTIAL_BYTES) -> str:
    """The credential text of the first ``openbadgecredential`` chunk."""
    for kind, chunk, _start, _end in _chunks(data):
        if kind != b"iTXt":
            continue
        ours, text = _credential_chunk(chunk)
        if not ours:
            continue
        if len(text) > max_bytes:
            raise BakingError(f"the baked credential is larger than {max_bytes // 1024} KB")
        try:
            return text.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BakingError("the baked credential is not UTF-8 text") from None
    raise BakingError("the PNG holds no openbadgecredential chunk")


_SVG_START = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def bake_svg(svg: str, credential: str, *, jws: bool) -> str:
    """Embed ``credential`` right after the ``<svg>`` start tag."""
    match = _SVG_START.search(svg)
    if match is None:
        raise BakingError("not an SVG image (no <svg> element)")
    start_tag = match.group(0)
    if "xmlns:openbadges=" not in start_tag:
        closing = "/>" if start_tag.endswith("/>") else ">"
        start_tag = start_tag[: -len(closing)] + f' xmlns:openbadges="{OB_NAMESPACE}"' + closing
    if jws:
        element = f'<openbadges:credential verify="{_attribute(credential)}"/>'
    else:
        element = f"<openbadges:credential>{_cdata(credential)}</openbadges:credential>"
    body = svg[match.end():]
    body = re.sub(r"<openbadges:credential\b.*?(?:/>|</openbadges:credential>)", "", body, flags=re.DOTALL)
    return svg[: match.start()] + start_tag + element + body


def _walk(element: Element) -> list[Element]:
    return list(element.iter())


def unbake_svg(data: bytes | str, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """The credential in an ``<openbadges:credential>`` element (CDATA JSON, or ``verify`` JWS)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise BakingError(f"the SVG is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        # A plain <!DOCTYPE svg PUBLIC …> is common (1EdTech's samples have one) and harmless: expat never
        # fetches it. Entity declarations and external entities are what XXE needs, and those are refused.
        root = SafeET.fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BakingError("the SVG declares entities, which are refused") from None
    except SafeET.ParseError as error:
        raise BakingError(f"the SVG is not well-formed XML ({error})") from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise BakingError("not an SVG image (the root element is not <svg>)")
    found = []
    for element in _walk(root):
        tag = element.tag if isinstance(element.tag, str) else ""
        local = tag.rsplit("}", 1)[-1].lower()
        if local in ("script", "foreignobject"):
            raise BakingError("the SVG contains a script, which is refused")
        if any(name.rsplit("}", 1)[-1].lower().startswith("on") for name in element.attrib):
            raise BakingError("the SVG contains an event handler attribute, which is refused")
        if tag == f"{{{OB_NAMESPACE}}}credential":
            found.append(element)
    if not found:
        raise BakingError("the SVG holds no openbadges:credential element")
    if len(found) > 1:
        raise BakingError("the SVG holds more than one openbadges:credential element")
    element = found[0]
    text = element.get("verify") or (element.text or "")
    text = text.strip()
    if not text:
        raise BakingError("the openbadges:credential element is empty")
    if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
        raise BakingError("the baked credential is too large")
    return text
