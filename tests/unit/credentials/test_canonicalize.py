"""Canonicalization: RDFC-1.0 output, safe mode, offline contexts."""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest

from credentials_support import OB3_LDP, VALIDATOR, W3C_EDDSA, load_json
from issuer.credentials import (
    CanonicalizationError,
    OfflineDocumentLoader,
    UndefinedTermError,
    UnknownContextError,
    canonicalize,
    document_loader,
)


def _simple() -> dict[str, Any]:
    document: dict[str, Any] = load_json(VALIDATOR / "ob30" / "simple.json")
    del document["proof"]
    return document


def test_w3c_unsigned_vector_canonicalizes_exactly(examples_loader: OfflineDocumentLoader) -> None:
    expected = (W3C_EDDSA / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text()
    assert canonicalize(load_json(W3C_EDDSA / "unsigned.json"), document_loader=examples_loader) == expected


@pytest.mark.parametrize(("kind", "folder"), [("ob3", "obv3p0"), ("clr2", "clrv2p0")])
def test_1edtech_ldp_vectors_canonicalize_exactly(kind: str, folder: str) -> None:
    expected = (OB3_LDP / "test-vectors" / folder / "document-canon.txt").read_text()
    assert canonicalize(load_json(OB3_LDP / f"{kind}-credential.json"), document_loader=document_loader) == expected


def test_canonicalize_does_not_modify_its_input() -> None:
    document = _simple()
    before = copy.deepcopy(document)
    canonicalize(document, document_loader=document_loader)
    assert document == before


def test_named_graphs_use_the_reference_algorithm_output() -> None:
    # complete.json embeds signed endorsements (blank-node named graphs); pyoxigraph 0.5 labels
    # this dataset differently from the JS reference. Our output must verify the JS-made signature,
    # which test_validator_samples checks; here: stable and sorted.
    document = load_json(VALIDATOR / "ob30" / "complete.json")
    document.pop("proof")
    lines = canonicalize(document, document_loader=document_loader).splitlines()
    assert lines == sorted(lines)
    assert len(lines) == 356


@pytest.mark.parametrize(
    ("change", "term"),
    [
        ({"nickname": "x"}, "nickname"),
        ({"type": ["VerifiableCredential", "OpenBadgeCredential", "FancyBadge"]}, "FancyBadge"),
        ({"id": "credentials/3527"}, "credentials/3527"),
        ({"@unknownKeyword": 1}, "@unknownKeyword"),
    ],
)
def test_undefined_top_level_data_is_refused_naming_the_term(change: dict[str, Any], term: str) -> None:
    document = {**_simple(), **change}
    with pytest.raises(UndefinedTermError) as caught:
        canonicalize(document, document_loader=document_loader)
    assert caught.value.term == term
    assert repr(term) in str(caught.value)


def test_undefined_property_deep_inside_is_refused() -> None:
    document = _simple()
    document["credentialSubject"]["achievement"]["criteria"]["secretNote"] = "unsigned?"
    with pytest.raises(UndefinedTermError, match="secretNote"):
        canonicalize(document, document_loader=document_loader)


def test_undefined_value_of_a_vocab_typed_property_is_refused() -> None:
    document = _simple()
    document["credentialSubject"]["achievement"]["type"] = ["Achievement", "NotAClass"]
    with pytest.raises(UndefinedTermError, match="NotAClass"):
        canonicalize(document, document_loader=document_loader)


def test_inline_vocab_cannot_make_undefined_terms_defined() -> None:
    document = _simple()
    document["@context"] = [*document["@context"], {"@vocab": "https://attacker.example/#"}]
    document["anything"] = "goes"
    with pytest.raises(UndefinedTermError, match="@vocab"):
        canonicalize(document, document_loader=document_loader)
    nested = _simple()
    nested["credentialSubject"]["@context"] = {"@vocab": "https://attacker.example/#"}
    with pytest.raises(UndefinedTermError, match="@vocab"):
        canonicalize(nested, document_loader=document_loader)


def test_term_mapped_to_null_is_refused_naming_it() -> None:
    document = _simple()
    document["@context"] = [*document["@context"], {"hidden": None}]
    document["hidden"] = "dropped by JSON-LD"
    with pytest.raises(UndefinedTermError) as caught:
        canonicalize(document, document_loader=document_loader)
    assert caught.value.term == "hidden"


def test_inline_context_definitions_are_honoured() -> None:
    document = _simple()
    document["@context"] = [*document["@context"], {"nickname": "https://example.org/vocab#nickname"}]
    document["nickname"] = "Teamwork!"
    assert '<https://example.org/vocab#nickname> "Teamwork!"' in canonicalize(document, document_loader=document_loader)


def test_vocab_from_a_served_context_defines_terms(examples_loader: OfflineDocumentLoader) -> None:
    document = load_json(W3C_EDDSA / "unsigned.json")
    document["credentialSubject"]["favouriteColour"] = "teal"  # defined only through examples/v2's @vocab
    assert "favouriteColour" in canonicalize(document, document_loader=examples_loader)


def test_unknown_context_fails_offline_naming_the_url() -> None:
    document = _simple()
    url = "https://contexts.example.org/never-fetched.jsonld"
    document["@context"] = [*document["@context"], url]
    # pytest-socket blocks non-loopback; the two exceptions it may raise are told apart below.
    with pytest.raises(Exception) as blocked, socket.socket() as probe:  # noqa: PT011
        probe.connect(("93.184.215.14", 443))
    # pytest-socket: SocketConnectBlockedError, or its warning turned into an error by filterwarnings=error
    assert "Blocked" in type(blocked.value).__name__ or "tried to use socket" in str(blocked.value)
    with pytest.raises(UnknownContextError) as caught:
        canonicalize(document, document_loader=document_loader)
    assert caught.value.url == url
    assert url in str(caught.value)


def test_a_context_served_by_another_loader_is_not_leaked_into_ours(examples_loader: OfflineDocumentLoader) -> None:
    document = load_json(W3C_EDDSA / "unsigned.json")
    canonicalize(document, document_loader=examples_loader)  # pyld's global cache would now hold it
    with pytest.raises(UnknownContextError, match="examples/v2"):
        canonicalize(document, document_loader=document_loader)


def test_protected_term_redefinition_is_a_canonicalization_error() -> None:
    document = _simple()
    document["@context"] = [*document["@context"], {"name": "https://attacker.example/#name"}]
    with pytest.raises(CanonicalizationError, match="protected"):
        canonicalize(document, document_loader=document_loader)


def test_non_object_document_is_refused() -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize([], document_loader=document_loader)  # type: ignore[arg-type]
