"""Baking credentials into badge images and reading them back (OB 3.0, section "Baked Badge").

PNG: one ``iTXt`` chunk with keyword ``openbadgecredential``, compression flag
0, empty language tag and translated keyword, whose text is the JSON
credential or the compact JWS; there MUST NOT be two, so re-baking replaces.
SVG: ``xmlns:openbadges`` on the root and one ``<openbadges:credential>``
directly after the ``<svg>`` start tag, the JSON in CDATA or the JWS in a
``verify`` attribute of an empty element.

Readers are strict and bounded because they take uploads from strangers:
sizes and chunk or element counts are capped, nothing is decompressed, and
SVG is parsed with entities and active content refused. Every refusal is a
:class:`BakingError` with a message fit to show the uploader.
"""

from __future__ import annotations

import re

from issuer.badges.errors import BakingError
from issuer.badges.png_chunks import (
    MAX_TEXT_CHUNKS,
    PNG_SIGNATURE,
    TEXT_CHUNK_TYPES,
    encode_chunk,
    read_chunks,
)
from issuer.badges.svg_scan import OB_NAMESPACE, FoundCredential, scan_svg

#: OB 3.0 "Baked Badge", PNG: the iTXt keyword.
KEYWORD = b"openbadgecredential"
#: A signed Open Badge is a few kilobytes; 1 MiB leaves room for embedded evidence and endorsements.
MAX_CREDENTIAL_BYTES = 1024 * 1024
#: Largest image file read or written (our badges are well under 100 KB).
MAX_IMAGE_BYTES = 8 * 1024 * 1024

#: RFC 7515 compact serialization: three base64url parts (the payload may be empty only if detached).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
#: XML 1.0 "Char": anything else cannot be carried by an SVG, not even in CDATA.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _encode_credential(credential: str) -> bytes:
    try:
        text = credential.encode("utf-8")
    except UnicodeEncodeError:
        raise BakingError("the credential is not valid Unicode text (it holds a lone surrogate)") from None
    if not text.strip():
        raise BakingError("the credential is empty")
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise BakingError(f"the credential is larger than the {MAX_CREDENTIAL_BYTES:,}-byte limit")
    return text


# --- PNG ----------------------------------------------------------------------------------------------------


def _is_credential_chunk(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.partition(b"\0")[0] == KEYWORD


_ITXT_FLAGS = 2  # after the keyword's NUL: the compression flag and the compression method, one byte each


def _itxt_text(data: bytes, *, max_credential_bytes: int) -> str:
    """The text of an ``openbadgecredential`` iTXt chunk (PNG 11.3.4.5), uncompressed only."""
    rest = data[len(KEYWORD) + 1 :]
    if len(rest) < _ITXT_FLAGS:
        raise BakingError("the openbadgecredential chunk is truncated")
    if rest[0] != 0:
        raise BakingError("the openbadgecredential chunk is compressed, which OB 3.0 forbids")
    _language, sep_language, rest = rest[2:].partition(b"\0")
    _translated, sep_translated, text = rest.partition(b"\0")
    if not (sep_language and sep_translated):
        raise BakingError("the openbadgecredential chunk is malformed (missing language or translated keyword)")
    if len(text) > max_credential_bytes:
        raise BakingError(f"the baked credential is larger than the {max_credential_bytes:,}-byte limit")
    try:
        decoded = text.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BakingError("the baked credential is not valid UTF-8 text") from None
    if not decoded:
        raise BakingError("the openbadgecredential chunk is empty")
    return decoded


def bake_png(png: bytes, credential: str) -> bytes:
    """Embed ``credential`` (JSON or compact JWS) in ``png``, replacing any credential already baked in.

    The new chunk goes just before ``IEND``, as in 1EdTech's samples. Other
    chunks are copied byte for byte, so the picture is unchanged.

    Raises:
        BakingError: ``png`` is not a readable PNG, or the credential is empty or too large.
    """
    text = _encode_credential(credential)
    chunks = read_chunks(png, max_bytes=MAX_IMAGE_BYTES)
    kept = [chunk for chunk in chunks if not _is_credential_chunk(chunk.kind, chunk.data)]
    if sum(chunk.kind in TEXT_CHUNK_TYPES for chunk in kept) >= MAX_TEXT_CHUNKS:
        raise BakingError(f"the PNG already has {MAX_TEXT_CHUNKS} text chunks; a baked copy could not be read back")
    # keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text
    credential_chunk = encode_chunk(b"iTXt", KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text)
    out = [PNG_SIGNATURE]
    for chunk in kept:
        if chunk.kind == b"IEND":
            out.append(credential_chunk)
        out.append(png[chunk.start : chunk.end])
    baked = b"".join(out)
    if len(baked) > MAX_IMAGE_BYTES:
        raise BakingError(f"the baked image would be larger than the {MAX_IMAGE_BYTES:,}-byte limit")
    return baked


def unbake_png(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_credential_bytes: int = MAX_CREDENTIAL_BYTES
) -> str:
    """The credential in the first ``openbadgecredential`` iTXt chunk (JSON or compact JWS, stripped).

    The whole chunk layer is checked first (signature, lengths, CRCs, limits),
    so a damaged or hostile file is refused even if its credential comes early.

    Args:
        data: the PNG file.
        max_bytes: refuse files larger than this.
        max_credential_bytes: refuse credential texts larger than this.

    Raises:
        BakingError: not a PNG, truncated, a bad CRC, too many chunks or text
            chunks, a compressed or malformed credential chunk, invalid UTF-8,
            or no credential at all.
    """
    for chunk in read_chunks(data, max_bytes=max_bytes):
        if _is_credential_chunk(chunk.kind, chunk.data):
            return _itxt_text(chunk.data, max_credential_bytes=max_credential_bytes)
    raise BakingError("the PNG holds no openbadgecredential chunk")


# --- SVG ----------------------------------------------------------------------------------------------------


def _tag_end(src: bytes, start: int) -> int:
    """The offset just past the ``>`` of the tag that begins at ``start`` (``>`` may sit inside quotes)."""
    pos = start + 1
    while True:
        gt = src.find(b">", pos)
        quote = min((i for i in (src.find(b'"', pos), src.find(b"'", pos)) if i != -1), default=-1)
        if gt == -1:
            raise BakingError("the SVG is not well-formed XML (a tag is not closed)")
        if quote == -1 or gt < quote:
            return gt + 1
        closing = src.find(src[quote : quote + 1], quote + 1)
        if closing == -1:
            raise BakingError("the SVG is not well-formed XML (an attribute value is not closed)")
        pos = closing + 1


def _element_span(src: bytes, found: FoundCredential) -> tuple[int, int]:
    start_end = _tag_end(src, found.start)
    if src[start_end - 2 : start_end] == b"/>":
        return found.start, start_end
    return found.start, _tag_end(src, found.end_event)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: end the section between "]]" and ">" and open a new one.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _attribute(text: str) -> str:
    # Tabs and newlines are escaped too, or attribute-value normalisation would turn them into spaces.
    for raw, entity in (("&", "&amp;"), ('"', "&quot;"), ("<", "&lt;"), (">", "&gt;"),
                        ("\t", "&#9;"), ("\n", "&#10;"), ("\r", "&#13;")):
        text = text.replace(raw, entity)
    return text


def _credential_element(credential: str, *, jws: bool) -> str:
    if jws:
        if not _COMPACT_JWS.fullmatch(credential.strip()):
            raise BakingError("jws=True but the credential is not a compact JWS (header.payload.signature)")
        return f'<openbadges:credential verify="{_attribute(credential.strip())}"/>'
    if not credential.lstrip().startswith("{"):
        raise BakingError("jws=False but the credential is not a JSON object")
    return f"<openbadges:credential>{_cdata(credential)}</openbadges:credential>"


def bake_svg(svg: str, credential: str, *, jws: bool) -> str:
    """Embed ``credential`` in ``svg`` directly after the ``<svg>`` start tag, replacing any baked before.

    The source text is edited in place (the namespace added to the root start
    tag, old credential elements cut out, the new one inserted), so the
    author's formatting, comments and prefixes survive. The result is parsed
    again and must yield exactly this credential.

    Args:
        svg: the SVG document.
        credential: a JSON credential (``jws=False``, stored in CDATA) or a
            compact JWS (``jws=True``, stored in a ``verify`` attribute).
        jws: which of the two ``credential`` is.

    Raises:
        BakingError: ``svg`` is not a safe, well-formed SVG, it binds the
            ``openbadges`` prefix to another namespace, or the credential is
            not of the kind ``jws`` says.
    """
    _encode_credential(credential)
    if _NOT_XML_CHAR.search(credential):
        raise BakingError("the credential contains control characters that XML cannot carry")
    if not jws:
        # XML turns CR and CRLF into LF; normalise first so the check below compares like with like.
        credential = credential.replace("\r\n", "\n").replace("\r", "\n")
    element = _credential_element(credential, jws=jws).encode("utf-8")
    scan = scan_svg(svg)
    src = svg.encode("utf-8")
    root_end = _tag_end(src, scan.root_start)
    root_tag = src[scan.root_start : root_end]
    self_closing = root_tag.endswith(b"/>")
    head = root_tag[:-2] if self_closing else root_tag[:-1]
    bound = scan.root_prefixes.get("openbadges")
    if bound is None:
        head += f' xmlns:openbadges="{OB_NAMESPACE}"'.encode()
    elif bound != OB_NAMESPACE:
        raise BakingError(f"the SVG binds the openbadges prefix to another namespace ({bound})")
    parts = [src[: scan.root_start], head, b">", element]
    if self_closing:
        name = re.match(rb"<([^\s/>]+)", root_tag)
        parts.append(b"</" + (name.group(1) if name else b"svg") + b">")
    pos = root_end
    for start, end in sorted(_element_span(src, found) for found in scan.credentials):
        if start >= pos:
            parts.append(src[pos:start])
            pos = end
    parts.append(src[pos:])
    baked = b"".join(parts).decode("utf-8")
    check = scan_svg(baked)
    if len(check.credentials) != 1 or _found_text(check.credentials[0]) != credential.strip():
        raise BakingError("the SVG holds a credential element that could not be replaced (another prefix?)")
    return baked


def _found_text(found: FoundCredential) -> str:
    if found.verify is not None and found.verify.strip():
        if found.text.strip():
            raise BakingError("the openbadges:credential element has both a verify attribute and a body")
        return found.verify.strip()
    text = found.text.strip()
    if not text:
        raise BakingError("the openbadges:credential element is empty")
    return text


def unbake_svg(
    data: bytes | str, *, max_bytes: int = MAX_IMAGE_BYTES, max_credential_bytes: int = MAX_CREDENTIAL_BYTES
) -> str:
    """The credential in the SVG's one ``<openbadges:credential>``: the ``verify`` JWS, or the JSON body.

    Args:
        data: the SVG file (bytes honour its XML declaration's encoding) or text.
        max_bytes: refuse documents larger than this (in UTF-8 for text).
        max_credential_bytes: refuse credential texts larger than this.

    Raises:
        BakingError: not well-formed, not SVG, entities or external
            references, scripts or event handlers, too large or deep, no
            credential element or more than one, or an empty one.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise BakingError(f"the SVG is larger than the {max_bytes:,}-byte limit")
    scan = scan_svg(data)
    if not scan.credentials:
        raise BakingError("the SVG holds no openbadges:credential element")
    if len(scan.credentials) > 1:
        raise BakingError("the SVG holds more than one openbadges:credential element")
    text = _found_text(scan.credentials[0])
    if len(text.encode("utf-8", "surrogatepass")) > max_credential_bytes:
        raise BakingError(f"the baked credential is larger than the {max_credential_bytes:,}-byte limit")
    return text
