"""base58btc (the Bitcoin alphabet), as used by multibase ``z`` values.

Our own small codec: Multikey and ``proofValue`` need only encode/decode of
short byte strings (34 and 64 bytes), so big-integer arithmetic is plenty fast.
"""

from __future__ import annotations

from issuer.credentials.errors import KeyFormatError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode bytes as base58btc; each leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode base58btc text.

    Raises:
        KeyFormatError: on a character outside the alphabet.
    """
    zeros = len(text) - len(text.lstrip("1"))
    number = 0
    for char in text:
        try:
            number = number * 58 + _INDEX[char]
        except KeyError:
            raise KeyFormatError(f"invalid base58btc character {char!r}") from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body
