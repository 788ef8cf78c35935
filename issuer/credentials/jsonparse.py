"""A strict JSON reader for untrusted input: RFC 8259 JSON or a named refusal, in bounded time.

Python's ``json.loads`` accepts what JSON does not (``NaN``, ``Infinity``,
duplicate object keys, the last one silently winning; numbers beyond float range
become ``inf``) and spends unbounded stack on deep nesting. ``loads`` refuses each
of these with a :class:`JSONInputError` whose ``reason`` names the rule, so a
caller can answer 400 (or 413 for ``too_large``) with a plain message:

* ``too_large``: more than ``max_bytes`` of UTF-8;
* ``not_utf8``: bytes that are not UTF-8;
* ``malformed``: not JSON at all (the message says where);
* ``duplicate_key``: an object with a key twice ("duplicate key 'x' in object at /a/0");
* ``too_deep``: objects and arrays nested more than ``max_depth`` levels;
* ``not_finite``: ``NaN``, ``Infinity``, or a number that overflows a float;
* ``number_too_long``: an integer of more than ``MAX_INTEGER_DIGITS`` digits;
* ``lone_surrogate``: a ``\\ud800``-style escape that is not Unicode text.

Work is linear in the input: the C parser, then one iterative walk (depth,
duplicates' location); 1 MB of any shape is answered in well under 0.25 s.
Locations are JSON Pointers (RFC 6901), ``/`` being the top-level value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from issuer.credentials.errors import JSONInputError

MAX_BYTES = 1_048_576
MAX_DEPTH = 64
#: Longer integers are no credential's data, and Python's int() of them is quadratic.
MAX_INTEGER_DIGITS = 100
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: A JSON string literal (the parser has accepted the text, so every literal is well formed).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def loads(  # noqa: PLR0912 (one branch per input type and per refusal, in the order they are checked)
    data: bytes | bytearray | memoryview | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Parse ``data`` as strict JSON.

    Args:
        data: UTF-8 bytes (a BOM is not accepted) or text.
        max_bytes: the largest input accepted, in UTF-8 bytes.
        max_depth: the deepest nesting of objects and arrays accepted (the top-level
            object or array is depth 1).

    Returns:
        The parsed value (dicts, lists, str, int, float, bool, None).

    Raises:
        JSONInputError: see the module docstring for each ``reason``.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > max_bytes:
            raise JSONInputError(f"the JSON is larger than {max_bytes:,} bytes", reason="too_large")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JSONInputError(f"the JSON is not UTF-8 text (byte {error.start})", reason="not_utf8") from None
    elif isinstance(data, str):
        if len(data) > max_bytes:  # every character is at least one byte
            raise JSONInputError(f"the JSON is larger than {max_bytes:,} bytes", reason="too_large")
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise JSONInputError("the JSON text holds a lone UTF-16 surrogate, which is not Unicode text",
                                 reason="lone_surrogate") from None
        if size > max_bytes:
            raise JSONInputError(f"the JSON is larger than {max_bytes:,} bytes", reason="too_large")
        text = data
    else:
        raise TypeError(f"JSON input must be bytes or str, not {type(data).__name__}")

    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise JSONInputError(f"JSON nested deeper than {max_depth} levels", reason="too_deep") from None
    except JSONInputError:
        raise
    except ValueError as error:
        raise JSONInputError(f"not well-formed JSON: {error}", reason="malformed") from None
    members = _check_depth(value, max_depth)
    # Every ":" outside strings separates one member: fewer members kept than written means a duplicate.
    if members != _STRING.sub("", text).count(":"):
        _find_duplicate(text)
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not JSON", reason="not_finite")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONInputError(f"the number {text[:40]} is too large for a float", reason="not_finite")
    return number


def _bounded_int(text: str) -> int:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INTEGER_DIGITS:
        raise JSONInputError(f"an integer of {digits:,} digits (at most {MAX_INTEGER_DIGITS})",
                             reason="number_too_long")
    return int(text)


def _pointer(path: list[str | int]) -> str:
    if not path:
        return "/"
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _check_depth(value: Any, max_depth: int) -> int:
    """Refuse nesting deeper than ``max_depth``; return the number of object members, a level at a time."""
    containers = (dict, list)
    level = [value] if type(value) in containers else []
    depth, members = 1, 0
    while level:
        if depth > max_depth:
            raise JSONInputError(
                f"JSON nested deeper than {max_depth} levels (at {_pointer(_locate(value, level[0]))})",
                reason="too_deep",
            )
        deeper: list[Any] = []
        for item in level:
            if not item:
                continue
            if type(item) is dict:
                members += len(item)
                deeper += [child for child in item.values() if type(child) in containers]
            else:
                deeper += [child for child in item if type(child) in containers]
        level = deeper
        depth += 1
    return members


def _find_duplicate(text: str) -> None:
    """Parse again, slowly, to name the first duplicate key and where it is (only for input being refused)."""
    duplicates: dict[int, str] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs) and not duplicates:
            seen: set[str] = set()
            duplicates[id(result)] = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        return result

    value = json.loads(text, object_pairs_hook=pairs_hook)
    for item_id, key in duplicates.items():
        raise JSONInputError(f"duplicate key {key!r} in object at {_pointer(_locate(value, None, item_id))}",
                             reason="duplicate_key")


def _locate(value: Any, target: Any, target_id: int | None = None) -> list[str | int]:
    """The path from ``value`` to the container ``target`` (or the one whose ``id`` is ``target_id``)."""
    wanted = id(target) if target_id is None else target_id
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if id(item) == wanted:
            return path
        if type(item) is dict:
            stack.extend((child, [*path, key]) for key, child in item.items() if type(child) in (dict, list))
        elif type(item) is list:
            stack.extend((child, [*path, index]) for index, child in enumerate(item) if type(child) in (dict, list))
    return []


def _refuse_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            strings = [item]
        elif type(item) is dict:
            strings = list(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONInputError(
                    "the JSON holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text",
                    reason="lone_surrogate",
                ) from None
