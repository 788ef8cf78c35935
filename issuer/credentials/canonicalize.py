"""JSON-LD → RDFC-1.0 canonical N-Quads, refusing data that JSON-LD would drop.

pyld converts JSON-LD to RDF (expansion + deserialization) and canonicalizes
with RDFC-1.0 (= URDNA2015; pyld's default is the older URGNA2012, so the
algorithm is always named explicitly).

pyoxigraph's RDFC-1.0 was measured as an alternative and is not used: on our
level credentials (~130 quads) pyld's URDNA2015 is faster once the N-Quads
round trip into Rust is counted (0.76 ms vs 1.0 ms), expansion dominates
anyway (~3 ms), and pyoxigraph 0.5 labels the 1EdTech ``complete.json``
(blank-node named graphs) differently from the JavaScript reference, whose
signature pyld's output verifies.

Safe mode (like Digital Bazaar ``canonize(..., {safe: true})``): pyld silently
drops whatever no context defines, and dropped data is not signed. We refuse:

* a property that expands to nothing or to a relative IRI (undefined term, or
  a term mapped to ``null``), and a blank-node predicate;
* a node ``@type`` or ``@id`` that is not an absolute IRI (an undefined type
  such as ``"type": "Foo"``, or ``"id": "not-a-url"``) or a blank-node type;
* an inline ``@context`` object with ``@vocab`` anywhere in the document.

Terms that are defined only through a ``@vocab`` of a context the loader serves
(e.g. the W3C examples context used by the W3C test vectors) are accepted, as
JSON-LD defines them; none of the vendored contexts declares a global ``@vocab``.
A document may not bring its own ``@vocab``, which would otherwise make every
misspelt term "defined". Keys that are already absolute IRIs or compact IRIs
(``"ex:foo"``) are kept by JSON-LD and therefore signed; they are accepted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from cachetools import LRUCache
from frozendict import frozendict

from issuer.credentials.errors import CanonicalizationError, UndefinedTermError, UnknownContextError

DocumentLoader = Callable[..., Any]

ALGORITHM = "URDNA2015"  # RDFC-1.0; pyld would otherwise default to URGNA2012
NQUADS = "application/n-quads"
# RDFC-1.0 section 4.8 (Hash N-Degree Quads) tries every permutation of blank nodes whose
# first-degree hashes collide, recursively: a few hundred bytes of "poison" JSON-LD (seven
# blank nodes all linked to each other, or an @list of 300 equal values) take seconds to
# minutes. RDFC-1.0 section 1.4 asks implementations to bound this work. One unit is
# roughly one identifier issued while trying a permutation (~1-2 us with pyld on our 2-core
# machine), so the limit caps the N-degree phase at about 0.5 s. Real credentials are far
# below it: a level credential needs 0 units, our four-level CLR 12, the 1EdTech
# complete.json sample (42 blank nodes, many alike) about 20,000.
MAX_RDFC_WORK = 250_000
# pyld's own test for "absolute IRI" (jsonld._is_absolute_iri): to_rdf drops anything else.
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")


class _SafeProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld processor that records every property expansion drops, then checks the result.

    It also memoizes context processing per loader. pyld caches a processed
    context by the id (``_uuid``) of the active context it was applied to, but
    every type-scoped context (OB 3.0 scopes one to each class) is applied to a
    fresh clone with a fresh ``_uuid``, so the cache never hits and the scoped
    context is re-processed for every node of every document. Processed active
    contexts are immutable (pyld freezes them), so the result of applying the
    same local context to the same active context object is reused; keys hold
    strong references so an ``id()`` is never reused while cached.
    """

    def __init__(self, memo: LRUCache[Any, Any] | None = None, expansions: LRUCache[Any, Any] | None = None) -> None:
        super().__init__(on_property_dropped=self._record_drop)
        self.dropped: list[str | None] = []
        self._memo = memo
        self._expansions = expansions

    def _expand(  # noqa: PLR0913 - pyld's signature
        self,
        active_ctx: Any,
        active_property: Any,
        element: Any,
        options: Any,
        inside_list: bool = False,
        inside_index: bool = False,
        type_scoped_ctx: Any = None,
    ) -> Any:
        """Reuse the expansion of identified nodes (``id``) seen before in the same context.

        Credentials of one level embed the same Achievement (with its alignments,
        criteria and creator) and the same issuer Profile, which are most of the
        document. Expansion is a pure function of the element and of the
        (immutable) contexts, so an identical element in the same contexts expands
        identically; the key is the element's canonical JSON text. Nothing
        downstream (node map, RDF conversion) modifies expanded values, so the
        cached result is shared. Subtrees with dropped properties are never cached,
        so the undefined-term check still sees every drop.
        """
        cache = self._expansions
        if (
            cache is None
            or active_property is None
            or type(element) is not dict
            or ("id" not in element and "@id" not in element)
        ):
            return super()._expand(
                active_ctx, active_property, element, options, inside_list, inside_index, type_scoped_ctx
            )
        try:
            text = json.dumps(element, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            text = None
        key = (id(active_ctx), active_property, id(type_scoped_ctx), inside_list, inside_index, text)
        hit = cache.get(key) if text is not None else None
        if hit is not None and hit[0] is active_ctx and hit[1] is type_scoped_ctx:
            return hit[2]
        drops = len(self.dropped)
        result = super()._expand(
            active_ctx, active_property, element, options, inside_list, inside_index, type_scoped_ctx
        )
        if text is not None and len(self.dropped) == drops and isinstance(active_ctx, frozendict):
            cache[key] = (active_ctx, type_scoped_ctx, result)
        return result

    def _process_context(  # noqa: PLR0913 - pyld's signature
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        memo = self._memo
        if memo is None or cycles is not None:
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        by_value = isinstance(local_ctx, str) or (
            isinstance(local_ctx, list) and all(isinstance(entry, str) for entry in local_ctx)
        )  # context URLs are keyed by value, inline context objects by identity
        local_key = (tuple(local_ctx) if isinstance(local_ctx, list) else local_ctx) if by_value else id(local_ctx)
        key = (id(active_ctx), local_key, override_protected, propagate, validate_scoped)
        hit = memo.get(key)
        if hit is not None and hit[0] is active_ctx and (by_value or hit[1] is local_ctx):
            return hit[2]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        if isinstance(result, frozendict):  # only immutable results are shared
            memo[key] = (active_ctx, local_ctx, result)
        return result

    def _record_drop(self, term: str | None) -> None:
        self.dropped.append(term)

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        if self.dropped:
            named = [term for term in self.dropped if term]
            if named:
                raise UndefinedTermError(named[0], "no @context defines this property, so it would not be signed")
            raise UndefinedTermError(
                _find_null_mapped_term(input_, options),
                "the @context maps this property to null, so it would not be signed",
            )
        _check_expanded(expanded)
        return expanded


class _NamingProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """Slow path, only after a failure: remembers which key expanded to nothing."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._record_drop)
        self.last_key: str | None = None
        self.found: str | None = None

    def _expand_iri(self, active_ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        result = super()._expand_iri(active_ctx, value, *args, **kwargs)
        if kwargs.get("vocab") or (len(args) >= 2 and args[1]):
            self.last_key = value
        return result

    def _record_drop(self, term: str | None) -> None:
        if self.found is None:
            self.found = term or self.last_key


def _find_null_mapped_term(input_: Any, options: Any) -> str:
    namer = _NamingProcessor()
    try:
        namer.expand(input_, options)
    except Exception:  # noqa: BLE001 - diagnosis only; the caller raises anyway
        pass
    return namer.found or "(unnamed)"


def _check_expanded(element: Any) -> None:
    """Walk expanded JSON-LD: every node @id/@type and property must survive to_rdf."""
    if isinstance(element, list):
        for item in element:
            _check_expanded(item)
        return
    if not isinstance(element, dict) or "@value" in element:
        return
    node_id = element.get("@id")
    if node_id is not None and not (isinstance(node_id, str) and _ABSOLUTE_IRI.match(node_id)):
        raise UndefinedTermError(str(node_id), "an identifier must be an absolute IRI (a relative one is dropped)")
    for node_type in element.get("@type", ()):
        if not _ABSOLUTE_IRI.match(node_type) or node_type.startswith("_:"):
            raise UndefinedTermError(node_type, "no @context defines this type, so it would not be signed")
    for key, value in element.items():
        if key.startswith("_:"):
            raise UndefinedTermError(key, "a blank-node property is dropped from RDF, so it would not be signed")
        if key == "@reverse" and isinstance(value, dict):
            for reverse_value in value.values():
                _check_expanded(reverse_value)
        elif key not in ("@id", "@type", "@index", "@language", "@direction"):
            _check_expanded(value)


def _check_inline_contexts(value: Any) -> None:
    """Refuse ``@vocab`` in any ``@context`` object written inside the document itself."""
    if isinstance(value, list):
        for item in value:
            _check_inline_contexts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                _check_context_value(item)
            elif isinstance(item, (dict, list)):
                _check_inline_contexts(item)


def _check_context_value(context: Any) -> None:
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            if "@vocab" in entry:
                raise UndefinedTermError(
                    "@vocab", "an inline @context may not set @vocab (it would make undefined terms 'defined')"
                )
            for definition in entry.values():
                if isinstance(definition, dict) and "@context" in definition:
                    _check_context_value(definition["@context"])


def _resolver_cache(document_loader: DocumentLoader) -> Any:
    cache = getattr(document_loader, "resolved_contexts", None)
    # A loader without its own cache gets a fresh one per call: slower, never shared.
    return cache if cache is not None else LRUCache(maxsize=64)


def _unknown_context(error: BaseException) -> UnknownContextError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UnknownContextError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def to_rdf_dataset(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> dict[str, list[Any]]:
    """Expand ``document`` safely and deserialize it to a pyld RDF dataset.

    Raises:
        UnknownContextError: a context URL the loader does not serve.
        UndefinedTermError: data JSON-LD would drop (see module docstring).
        CanonicalizationError: any other JSON-LD error.
    """
    if not isinstance(document, Mapping):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    _check_inline_contexts(document)
    options = {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_resolver_cache(document_loader), document_loader),
        "produceGeneralizedRdf": False,
        "base": None,  # pyld resolves relative IRIs against http://example.org/base/ when base is ""
    }
    try:
        processor = _SafeProcessor(
            getattr(document_loader, "processed_contexts", None), getattr(document_loader, "expanded_nodes", None)
        )
        dataset: dict[str, list[Any]] = processor.to_rdf(dict(document), options)
    except UndefinedTermError:
        raise
    except Exception as error:  # pyld raises JsonLdError wrapping the loader's error
        unknown = _unknown_context(error)
        if unknown is not None:
            raise UnknownContextError(unknown.url) from None
        raise CanonicalizationError(f"JSON-LD processing failed: {_describe(error)}") from error
    return dataset


def _describe(error: BaseException) -> str:
    messages: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(messages) < 4:
        text = seen.args[0] if seen.args else type(seen).__name__
        messages.append(str(text))
        seen = seen.__cause__
    return " <- ".join(messages)


class _BoundedURDNA2015(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 with a work budget for Hash N-Degree Quads (see ``MAX_RDFC_WORK``).

    Every call of Hash N-Degree Quads starts by grouping the related blank nodes
    (``create_hash_to_related``); the permutations it then tries are known at that
    point, so their cost is charged up front and the budget is enforced before the
    work is done, not after.
    """

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget
        self.work = 0

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        issued = len(issuer.order)
        # Each permutation copies the issuer and issues one identifier per related node
        # (RDFC-1.0 4.8.3 step 5.4); beyond 20 nodes the factorial is over any budget anyway.
        self.work += 1 + sum(math.factorial(min(len(nodes), 21)) * (issued + len(nodes)) for nodes in groups.values())
        if self.work > self.budget:
            raise CanonicalizationError(
                f"RDFC-1.0 canonicalization refused: its blank nodes are so alike and interlinked that "
                f"canonicalizing them exceeds the work limit ({self.budget:,} steps)"
            )
        return groups


def _canonical_pyld(dataset: dict[str, list[Any]]) -> str:
    output: str = _BoundedURDNA2015(MAX_RDFC_WORK).main(dataset, {"algorithm": ALGORITHM, "format": NQUADS})
    return output


def canonicalize_dataset(dataset: dict[str, list[Any]]) -> str:
    """RDFC-1.0 canonical N-Quads of a pyld RDF dataset.

    Raises:
        CanonicalizationError: the dataset needs more than ``MAX_RDFC_WORK`` steps.
    """
    return _canonical_pyld(dataset)


def canonicalize(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> str:
    """Canonicalize a JSON-LD document with RDFC-1.0 (URDNA2015) to N-Quads, in safe mode.

    Args:
        document: the JSON-LD document (not modified).
        document_loader: an offline loader (``loader.document_loader``); contexts
            it does not serve fail, nothing is fetched.

    Returns:
        Canonical N-Quads, each line ending in ``\\n``.

    Raises:
        UnknownContextError: a context URL the loader does not serve.
        UndefinedTermError: a property, type or identifier JSON-LD would drop,
            or an inline ``@vocab`` (see module docstring).
        CanonicalizationError: any other JSON-LD or RDF error, or blank nodes that
            would take more than ``MAX_RDFC_WORK`` steps to canonicalize.
    """
    dataset = to_rdf_dataset(document, document_loader=document_loader)
    try:
        return canonicalize_dataset(dataset)
    except CanonicalizationError:
        raise
    except Exception as error:
        raise CanonicalizationError(f"RDFC-1.0 canonicalization failed: {_describe(error)}") from error
