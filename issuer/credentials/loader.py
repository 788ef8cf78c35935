"""Offline JSON-LD document loader: serves the vendored contexts and nothing else.

The contexts in ``contexts/`` (listed in ``contexts/INDEX.json``) are parsed once
per process. Any other URL raises :class:`UnknownContextError`: a credential
that needs a context we do not hold cannot be processed, and nothing is ever
fetched from the network (pyld's default loader would fetch).

Each loader also owns pyld's resolved-context cache (see ``canonicalize.py``):
pyld's own cache is global and keyed only by URL, so a context served once by a
more permissive loader would otherwise be served to every other loader too.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from issuer.credentials.cache import BoundedCache
from issuer.credentials.errors import UnknownContextError

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
INDEX_FILE = CONTEXTS_DIR / "INDEX.json"
RESOLVED_CONTEXT_CACHE_SIZE = 512
PROCESSED_CONTEXT_CACHE_SIZE = 4096
EXPANDED_NODE_CACHE_SIZE = 512
#: Expanded nodes are keyed by their JSON text, which a hostile input makes large: bounded by bytes too.
EXPANDED_NODE_CACHE_BYTES = 16 * 1024 * 1024
PROOF_TEMPLATE_CACHE_SIZE = 64
PROOF_TEMPLATE_CACHE_BYTES = 1024 * 1024


# Process-wide, and the only process-wide caches of the core: the vendored contexts are immutable files of the
# package, read once (two small maps; every loader copies what it hands out).
@functools.cache
def vendored_index() -> Mapping[str, str]:
    """The official context URL → file name map of ``contexts/INDEX.json``."""
    index: dict[str, str] = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return index


@functools.cache
def _vendored_documents() -> Mapping[str, Any]:
    return {url: json.loads((CONTEXTS_DIR / name).read_bytes()) for url, name in vendored_index().items()}


class OfflineDocumentLoader:
    """A pyld ``documentLoader`` that answers only from memory.

    Args:
        extra: additional URL → parsed JSON-LD documents (tests use this for the
            W3C examples context; the app passes nothing).
    """

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        self._documents: dict[str, Any] = dict(_vendored_documents())
        for url, document in (extra or {}).items():
            self._documents[url] = copy.deepcopy(document)
        #: pyld resolved-context cache private to this loader (see module docstring).
        self.resolved_contexts: BoundedCache[str, Any] = BoundedCache(RESOLVED_CONTEXT_CACHE_SIZE,
                                                                      name="loader.resolved_contexts")
        #: processed active contexts, memoized by ``canonicalize._SafeProcessor``.
        self.processed_contexts: BoundedCache[Any, Any] = BoundedCache(PROCESSED_CONTEXT_CACHE_SIZE,
                                                                       name="loader.processed_contexts")
        #: expanded identified nodes (achievements, profiles), memoized by ``canonicalize._SafeProcessor``.
        self.expanded_nodes: BoundedCache[Any, Any] = BoundedCache(
            EXPANDED_NODE_CACHE_SIZE, EXPANDED_NODE_CACHE_BYTES, name="loader.expanded_nodes")
        #: canonical proof configurations by shape, memoized by ``eddsa_rdfc_2022.canonical_proof_configuration``.
        self.proof_templates: BoundedCache[str, str | None] = BoundedCache(
            PROOF_TEMPLATE_CACHE_SIZE, PROOF_TEMPLATE_CACHE_BYTES, name="loader.proof_templates")

    @property
    def urls(self) -> frozenset[str]:
        """Every URL this loader serves."""
        return frozenset(self._documents)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:  # noqa: ARG002 (pyld's)
        """Return the pyld RemoteDocument for ``url``.

        Raises:
            UnknownContextError: ``url`` is not served by this loader.
        """
        try:
            document = self._documents[url]
        except (KeyError, TypeError):
            raise UnknownContextError(str(url)) from None
        # pyld may rewrite relative URLs inside a context it loads: hand out a copy.
        # (Rare: resolved contexts are cached, so this runs about once per URL.)
        # "tag": "static" lets pyld keep the resolved context in its (per-loader) cache.
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document), "tag": "static"}


#: The process-wide loader for the vendored contexts.
document_loader = OfflineDocumentLoader()
