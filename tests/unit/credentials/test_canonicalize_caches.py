"""The per-loader caches (processed contexts, expanded nodes) never change a result."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from credentials_support import VALIDATOR, load_json
from issuer.credentials import OfflineDocumentLoader, UndefinedTermError, canonicalize


def _plain_loader() -> Callable[..., Any]:
    """A loader with none of our caches: pyld does everything from scratch."""
    inner = OfflineDocumentLoader()
    return lambda url, options=None: inner(url, options)


def test_cached_and_uncached_canonical_forms_are_identical(make_credential: Callable[..., dict[str, Any]]) -> None:
    cached = OfflineDocumentLoader()
    for recipient in ("a@example.org", "b@example.org", "c@example.org"):
        credential = make_credential(recipient_email=recipient)
        first = canonicalize(credential, document_loader=cached)
        again = canonicalize(credential, document_loader=cached)  # now served from the caches
        assert first == again == canonicalize(credential, document_loader=_plain_loader())
    assert len(cached.expanded_nodes) > 0
    assert len(cached.processed_contexts) > 0


def test_cached_expansions_are_not_modified_by_use(make_credential: Callable[..., dict[str, Any]]) -> None:
    loader = OfflineDocumentLoader()
    canonicalize(make_credential(), document_loader=loader)
    snapshot = {key: copy.deepcopy(entry[2]) for key, entry in loader.expanded_nodes.items()}
    assert snapshot
    for _ in range(3):
        canonicalize(make_credential(), document_loader=loader)
    after = dict(loader.expanded_nodes.items())  # reading reorders an LRU cache: compare entry by entry
    assert {key: after[key][2] for key in snapshot} == snapshot


def test_an_undefined_term_inside_a_node_seen_before_is_still_refused(
    make_credential: Callable[..., dict[str, Any]],
) -> None:
    loader = OfflineDocumentLoader()
    good = make_credential()
    canonicalize(good, document_loader=loader)
    bad = copy.deepcopy(good)
    bad["credentialSubject"]["achievement"]["alignment"][3]["weight"] = 0.5
    with pytest.raises(UndefinedTermError, match="weight"):
        canonicalize(bad, document_loader=loader)
    with pytest.raises(UndefinedTermError, match="weight"):  # and again, with every cache warm
        canonicalize(bad, document_loader=loader)
    assert canonicalize(good, document_loader=loader) == canonicalize(good, document_loader=_plain_loader())


def test_the_same_node_under_different_contexts_is_expanded_separately() -> None:
    loader = OfflineDocumentLoader()
    v303 = load_json(VALIDATOR / "ob30" / "simple.json")
    v302 = load_json(VALIDATOR / "ob30" / "simple-context-version.json")
    for sample in (v303, v302, v303):
        document = {k: v for k, v in sample.items() if k != "proof"}
        assert canonicalize(document, document_loader=loader) == canonicalize(document, document_loader=_plain_loader())
