"""Nodes without ``id`` are expanded from a template of their shape only where that is exactly pyld's expansion.

Every comparison is with a fresh loader (no memo, no reused expansion) on the same document, and the loader whose
cache is under test has already seen the shape with other text, so the template is what answers.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.credentials import OfflineDocumentLoader, UndefinedTermError, canonicalize

canonicalize_module = importlib.import_module("issuer.credentials.canonicalize")  # the name is also its function

EX = "https://example.org/ns#"
CONTEXT = {
    "id": "@id",
    "type": "@type",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "Thing": f"{EX}Thing",
    "part": f"{EX}part",
    "name": f"{EX}name",
    "note": f"{EX}note",
    "when": {"@id": f"{EX}when", "@type": "xsd:dateTime"},
    "link": {"@id": f"{EX}link", "@type": "@id"},
    "items": {"@id": f"{EX}items", "@container": "@list"},
    "alias": "@id",
}


def document(**part: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "id": "urn:doc", "part": [{"type": "Thing", **part}]}


def templates(loader: OfflineDocumentLoader) -> list[Any]:
    """What the loader's expansion cache holds for shapes: templates, or the mark of a shape that is none."""
    return [entry[2] for key, entry in loader.expanded_nodes.items() if key[0] == "shape"]


def same_as_fresh(loader: OfflineDocumentLoader, doc: dict[str, Any]) -> str:
    result = canonicalize(doc, document_loader=loader)
    assert result == canonicalize(doc, document_loader=OfflineDocumentLoader())
    return result


def test_text_of_the_same_shape_comes_from_the_template() -> None:
    loader = OfflineDocumentLoader()
    first = same_as_fresh(loader, document(name="Ada", note="first note", when="2026-01-02T03:04:05Z",
                                           items=["x", "y"]))
    second = same_as_fresh(loader, document(name="Grace", note="another\tnote \"quoted\"",
                                            when="2025-12-31T23:59:59Z", items=["p", "q"]))
    assert first != second
    assert "Grace" in second
    assert "Ada" not in second
    assert templates(loader)
    assert all(t is not canonicalize_module._NOT_A_TEMPLATE for t in templates(loader))


@pytest.mark.parametrize("part", [{"link": "https://example.org/a"}, {"link": "xsd:compact"},
                                  {"alias": "urn:x:1"}])
def test_strings_that_expansion_reads_as_iris_are_never_templated(part: dict[str, str]) -> None:
    loader = OfflineDocumentLoader()
    key, value = next(iter(part.items()))
    outputs = {same_as_fresh(loader, document(**{key: value + suffix})) for suffix in ("", "-2", "-3")}
    assert len(outputs) == 3
    assert templates(loader) == [canonicalize_module._NOT_A_TEMPLATE]


def test_an_undefined_term_is_refused_every_time() -> None:
    loader = OfflineDocumentLoader()
    for note in ("one", "two"):
        with pytest.raises(UndefinedTermError, match="nope"):
            canonicalize(document(note=note, nope="x"), document_loader=loader)


def test_text_that_looks_like_a_placeholder_is_only_text() -> None:
    loader = OfflineDocumentLoader()
    lookalike = canonicalize_module._PLACEHOLDER + "0\x00"
    plain = same_as_fresh(loader, document(name="plain", note="text"))
    assert same_as_fresh(loader, document(name=lookalike, note="text")) != plain
    as_type = {"@context": CONTEXT, "id": "urn:doc", "part": [{"type": lookalike, "note": "text"}]}
    for each in (loader, OfflineDocumentLoader()):  # an undefined type, refused alike
        with pytest.raises(UndefinedTermError, match="type"):
            canonicalize(as_type, document_loader=each)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), min_size=2, max_size=4))
def test_any_text_in_a_repeated_shape_canonicalizes_as_pyld_alone(texts: list[tuple[str, str]]) -> None:
    loader = OfflineDocumentLoader()
    for name, note in texts:
        same_as_fresh(loader, document(name=name, note=note))
