"""The stored and served JSON text of signed documents (``issuer.issuance.signing.serialize``)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.issuance.signing import serialize

# JSON without floats (orjson spells some differently) or lone surrogates (no UTF-8 text can hold them).
_TEXT = st.text(st.characters(codec="utf-8"))  # UTF-8 has no lone surrogates
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


def standard(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


@settings(max_examples=500)
@given(_JSON)
def test_the_text_is_what_the_standard_library_writes(document: Any) -> None:
    assert serialize(document) == standard(document)


def test_a_credential_keeps_its_characters_and_layout() -> None:
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "name": "Musiktherapie – Stufe «Emerging» 音楽療法 🎵",
        "note": "tab\there, line\nbreak, quote \" and backslash \\, control \u0001",
        "evidence": [],
        "credentialSubject": {},
        "proof": [{"type": "DataIntegrityProof"}],
    }
    text = serialize(document)
    assert text == standard(document)
    assert "音楽療法 🎵" in text
    assert "\\u0001" in text
    assert json.loads(text) == document


def test_integers_beyond_64_bits_are_still_written() -> None:
    document = {"big": 2**70, "negative": -(2**64), "list": [2**80]}
    assert serialize(document) == standard(document)
