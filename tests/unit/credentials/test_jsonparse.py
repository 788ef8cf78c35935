"""The strict JSON reader: JSON or a named refusal, never a slow answer or a silent repair."""

from __future__ import annotations

import json

import pytest

from issuer.credentials.errors import JSONInputError
from issuer.credentials.jsonparse import MAX_BYTES, MAX_DEPTH, loads


def _refusal(data: bytes | str, **kwargs: int) -> JSONInputError:
    with pytest.raises(JSONInputError) as caught:
        loads(data, **kwargs)
    return caught.value


def test_json_is_read_as_json() -> None:
    text = '{"a": [1, 2.5, "x:y", {"b": null, "c": true}], "d": "\\u00e9\\ud83d\\ude00"}'
    assert loads(text) == json.loads(text)
    assert loads(text.encode("utf-8")) == json.loads(text)


@pytest.mark.parametrize(
    ('text', 'key', 'where'),
    [
        ('{"a": 1, "a": 2}', "a", "/"),
        ('{"x": [{"a": {"b": 1, "b": 2}}]}', "b", "/x/0/a"),
        ('[{}, {"k/~": {"b": 1, "c": 2, "b": 3}}]', "b", "/1/k~1~0"),
    ],
)
def test_a_duplicate_key_is_refused_naming_it_and_where(text: str, key: str, where: str) -> None:
    error = _refusal(text)
    assert error.reason == "duplicate_key"
    assert str(error) == f"duplicate key {key!r} in object at {where}"


def test_colons_inside_strings_are_not_mistaken_for_members() -> None:
    text = '{"a": "x:y", "b\\":": ["::", "\\\\:"]}'
    assert loads(text) == json.loads(text)


def test_deeply_nested_arrays_are_refused() -> None:
    error = _refusal("[" * 100_000 + "]" * 100_000)
    assert error.reason == "too_deep"
    assert f"JSON nested deeper than {MAX_DEPTH} levels" in str(error)


def test_the_depth_limit_is_exact() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    error = _refusal('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    assert error.reason == "too_deep"
    assert "(at /a/a/" in str(error)
    assert loads("[[[1]]]", max_depth=3) == [[[1]]]
    assert _refusal("[[[[1]]]]", max_depth=3).reason == "too_deep"


def test_a_megabyte_of_empty_arrays_is_read() -> None:
    text = '{"a":[' + ",".join(["[]"] * 349_000) + "]}"
    assert len(text) <= MAX_BYTES
    assert len(loads(text)["a"]) == 349_000


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "[-Infinity]", "[1e400]", "[-1e400]"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    assert _refusal(text).reason == "not_finite"


def test_an_overlong_integer_is_refused() -> None:
    assert loads("[" + "9" * 100 + "]") == [int("9" * 100)]
    assert _refusal("[" + "9" * 5000 + "]").reason == "number_too_long"


@pytest.mark.parametrize(
    "data", [b"x" * (MAX_BYTES + 1), "x" * (MAX_BYTES + 1), '"' + "\u00e9" * (MAX_BYTES // 2) + '"']
)
def test_oversize_input_is_refused_before_parsing(data: bytes | str) -> None:
    error = _refusal(data)
    assert error.reason == "too_large"
    assert f"{MAX_BYTES:,} bytes" in str(error)


def test_a_smaller_size_limit_can_be_asked_for() -> None:
    assert loads("[1]", max_bytes=3) == [1]
    assert _refusal("[10]", max_bytes=3).reason == "too_large"


@pytest.mark.parametrize(
    ('data', 'reason'),
    [
        (b"\xff\xfe[]", "not_utf8"),
        ("{", "malformed"),
        ("[1,]", "malformed"),
        ("", "malformed"),
        ('["\\ud800"]', "lone_surrogate"),
        ('{"\\udc00": 1}', "lone_surrogate"),
        ("[\"\ud800\"]", "lone_surrogate"),
    ],
)
def test_other_refusals_are_named(data: bytes | str, reason: str) -> None:
    assert _refusal(data).reason == reason


def test_an_escaped_backslash_before_u_is_not_a_surrogate() -> None:
    assert loads('["\\\\ud800"]') == ["\\ud800"]
