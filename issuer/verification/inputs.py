"""Reading what a verifier is given: an uploaded file (baked PNG or SVG, JSON, JWT), and the key its answer is
cached under."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from issuer import badges
from issuer.errors import InvalidInput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UTF8_BOM = b"\xef\xbb\xbf"
#: The one answer every verify endpoint gives to UTF-16 (or UTF-32) text, whatever the text is (JSON, JWT, SVG).
UTF16_REFUSED = "the input is UTF-16 (or UTF-32) text; save or send it as UTF-8"


def utf8_bytes(raw: bytes) -> bytes:
    """The one rule for text encodings at every verify endpoint: a UTF-8 byte order mark is skipped, UTF-16 and
    UTF-32 text (with a byte order mark, or ASCII with every other byte zero) are refused with ``UTF16_REFUSED``.

    :raise InvalidInput: the text is UTF-16 or UTF-32.
    """
    if raw.startswith(UTF8_BOM):
        return raw[len(UTF8_BOM):]
    wide_ascii = len(raw) >= 2 and (raw[0] == 0) != (raw[1] == 0) and 0x20 <= max(raw[0], raw[1]) < 0x7F  # noqa: PLR2004 (printable ASCII)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or wide_ascii:
        raise InvalidInput(UTF16_REFUSED)
    return raw


def utf8_text(text: str) -> str:
    """Pasted text under the same rule: a leading byte order mark (U+FEFF) is skipped."""
    return text.removeprefix("\ufeff")


def extract_credential(raw: bytes, *, filename: str = "") -> str:
    """The credential text in an uploaded file: a baked PNG or SVG, or a .json / .jwt file.

    What the file is comes from its bytes (and its name's suffix), never from a media type its sender claims.

    :raise InvalidInput: the file is none of those, or its baked credential cannot be read.
    """
    name = filename.lower()
    try:
        if raw.startswith(PNG_SIGNATURE) or name.endswith(".png"):
            return badges.unbake_png(raw)
        raw = utf8_bytes(raw)  # a UTF-8 BOM skipped, UTF-16 refused: JSON, JWT and SVG alike
        head = raw[:2048].lstrip().lower()
        xml_svg = head.startswith(b"<?xml") and b"<svg" in raw[:4096].lower()
        if name.endswith(".svg") or head.startswith(b"<svg") or xml_svg:
            return badges.unbake_svg(raw)
    except badges.BakingError as error:
        raise InvalidInput(f"the uploaded image holds no readable credential: {error}") from None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput(
            "the uploaded file is not a credential: expected JSON, a JWT, or a baked PNG or SVG") from None


def digest(data: str | bytes | dict[str, Any]) -> str:
    """The SHA-256 of a verifier's input (a JSON object by its sorted compact text): its answer's cache key."""
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()
