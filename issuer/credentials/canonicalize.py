"""JSON-LD → RDFC-1.0 canonical N-Quads, refusing data that JSON-LD would drop.

pyld expands the JSON-LD. The expanded document is deserialized to RDF here
(``_Deserializer``) when it keeps to the node and value objects our credentials
use, and by pyld's node map otherwise; either way the dataset is the one pyld's
``to_rdf`` returns, triple for triple and label for label. ``rdfc`` then
canonicalizes it with RDFC-1.0. pyld's generic conversion (node map, then
``_graph_to_rdf``) cost more than the expansion itself on a level credential.

pyoxigraph's RDFC-1.0 was measured as an alternative and is not used: on our
level credentials (~130 quads) pyld's URDNA2015 was already faster once the
N-Quads round trip into Rust is counted (0.76 ms vs 1.0 ms), and pyoxigraph 0.5
labels the 1EdTech ``complete.json`` (blank-node named graphs) differently
from the JavaScript reference, whose signature pyld's output verifies.

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

import contextlib
import copy
import json
import math
import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from frozendict import frozendict
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from issuer.credentials import rdfc
from issuer.credentials.cache import BoundedCache
from issuer.credentials.errors import CanonicalizationError, TooComplexError, UndefinedTermError, UnknownContextError

DocumentLoader = Callable[..., Any]

# Work bounds of JSON-LD expansion, checked on the document before pyld sees it (RDFC-1.0 has its
# own in ``rdfc``). Expansion costs ~15-70 us per JSON object (more for identified nodes, which
# pick up type-scoped contexts), so 1 MB of small objects would take most of a second. Genuine
# credentials are far inside: a level credential has ~45 objects and nests 6 deep; the 1EdTech
# complete.json sample ~110 objects, 553 values, 11 deep.
#: JSON objects (node, value and context objects) in one document.
MAX_JSONLD_OBJECTS = 2_000
#: JSON values of any kind (objects, arrays, strings, numbers, ...) in one document.
MAX_JSONLD_VALUES = 50_000
#: Nesting of objects and arrays, the document itself being depth 1.
MAX_JSONLD_DEPTH = 32
#: Term definitions in the @context objects a document writes inline (its context URLs are served by the
#: loader and processed once per process). pyld processes ~100,000 definitions a second; genuine credentials
#: write none (the 1EdTech samples and ours name contexts by URL).
MAX_INLINE_CONTEXT_TERMS = 1_000

# pyld's own test for "absolute IRI" (jsonld._is_absolute_iri): to_rdf drops anything else.
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_VALUE_KEYS = frozenset(("@value", "@type", "@language"))
_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


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

    def __init__(
        self, memo: BoundedCache[Any, Any] | None = None, expansions: BoundedCache[Any, Any] | None = None
    ) -> None:
        super().__init__(on_property_dropped=self._record_drop)
        self.dropped: list[str | None] = []
        self._memo = memo
        self._expansions = expansions

    def _expand(  # pyld's signature
        self,
        active_ctx: Any,
        active_property: Any,
        element: Any,
        options: Any,
        inside_list: bool = False,
        inside_index: bool = False,
        type_scoped_ctx: Any = None,
    ) -> Any:
        """Reuse the expansion of identified nodes (``id``) seen before in the same context; others by shape.

        Credentials of one level embed the same Achievement (with its alignments,
        criteria and creator) and the same issuer Profile, which are most of the
        document. Expansion is a pure function of the element and of the
        (immutable) contexts, so an identical element in the same contexts expands
        identically; the key is the element's canonical JSON text. Nothing
        downstream (node map, RDF conversion) modifies expanded values, so the
        cached result is shared. Subtrees with dropped properties are never cached,
        so the undefined-term check still sees every drop. Nor are the values of
        an index, id or type map (``inside_index``): pyld writes the map's key into
        each of them after expanding it (``_expand_index_map``), which would
        change the cached copy.
        """
        cache = self._expansions
        if cache is None or active_property is None or inside_index or type(element) is not dict:
            return super()._expand(
                active_ctx, active_property, element, options, inside_list, inside_index, type_scoped_ctx
            )
        if "id" not in element and "@id" not in element:
            return self._expand_by_shape(
                cache, active_ctx, active_property, element, options, inside_list, type_scoped_ctx
            )
        try:
            text = json.dumps(element, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            text = None
        key = (id(active_ctx), active_property, id(type_scoped_ctx), inside_list, text)
        hit = cache.get(key) if text is not None else None
        if hit is not None and hit[0] is active_ctx and hit[1] is type_scoped_ctx:
            return hit[2]
        drops = len(self.dropped)
        result = super()._expand(active_ctx, active_property, element, options, inside_list, False, type_scoped_ctx)
        if text is not None and len(self.dropped) == drops and isinstance(active_ctx, frozendict):
            cache.put(key, (active_ctx, type_scoped_ctx, result), size=_expansion_size(text))
        return result

    def _expand_by_shape(  # _expand's arguments, as pyld passes them
        self,
        cache: BoundedCache[Any, Any],
        active_ctx: Any,
        active_property: Any,
        element: dict[str, Any],
        options: Any,
        inside_list: bool,
        type_scoped_ctx: Any,
    ) -> Any:
        """Expand a node without ``id`` (an Evidence, a subject) from a template of its shape, when one holds.

        Such nodes differ between credentials in their text (a note, a date), not in their shape. The shape is
        the node with every string that is not an ``id``, a ``type`` or a keyword's value replaced by a numbered
        placeholder; it is expanded once, and the result is a template if, and only if, every placeholder comes
        out untouched as the whole ``@value`` of a value object, once. Then the expansion of any node of that
        shape is the template with the placeholders replaced: a string that only becomes an ``@value`` cannot
        change anything else of the expansion (keys and types decide the contexts and the order). A string
        that expansion reads (an IRI-typed term, an alias of ``@id``) moves or alters its placeholder, and
        the shape is then marked as not a template and expanded in full each time. So are nodes that define
        a context inline, or that lose a property (the drop must be seen, and reported, on the real node).
        """
        shaped = _shape(element)
        if shaped is None:
            return super()._expand(active_ctx, active_property, element, options, inside_list, False, type_scoped_ctx)
        shape, values = shaped  # plain JSON by construction
        text = json.dumps(shape, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = ("shape", id(active_ctx), active_property, id(type_scoped_ctx), inside_list, text)
        hit = cache.get(key)
        if hit is not None and hit[0] is active_ctx and hit[1] is type_scoped_ctx:
            if hit[2] is _NOT_A_TEMPLATE:
                return super()._expand(
                    active_ctx, active_property, element, options, inside_list, False, type_scoped_ctx
                )
            return _fill(hit[2], values)
        drops = len(self.dropped)
        template = super()._expand(active_ctx, active_property, shape, options, inside_list, False, type_scoped_ctx)
        usable = len(self.dropped) == drops and _is_template(template, len(values))
        if isinstance(active_ctx, frozendict):
            cache.put(key, (active_ctx, type_scoped_ctx, template if usable else _NOT_A_TEMPLATE),
                      size=_expansion_size(text))
        if not usable:
            del self.dropped[drops:]  # seen again, on the real node
            return super()._expand(
                active_ctx, active_property, element, options, inside_list, False, type_scoped_ctx
            )
        return _fill(template, values)

    def _process_context(  # pyld's signature
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


#: Placeholders for the strings of a node's shape (see ``_SafeProcessor._expand_by_shape``): a prefix no text is
#: expected to hold (a NUL and a random token), the string's number, and a closing NUL.
_PLACEHOLDER = f"\x00{secrets.token_hex(8)}:"
_NOT_A_TEMPLATE = object()
#: Keys whose string values stay in the shape: they choose contexts (``type``) or are read as IRIs (``id``).
_SHAPE_KEEPS = frozenset(("id", "type"))


def _shape(element: dict[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
    """(the node with placeholders for its plain strings, those strings in order), or None if it is not plain
    JSON, defines a context inline or holds an identified node (a subject holding its Achievement: the
    Achievement's own cached expansion is cheaper than a template copying it)."""
    values: list[str] = []

    def walk(value: Any, key: str) -> Any:
        kind = type(value)
        if kind is str:
            if key in _SHAPE_KEEPS or key.startswith("@"):
                return value
            values.append(value)
            return f"{_PLACEHOLDER}{len(values) - 1}\x00"
        if kind is dict:
            if "@context" in value or (value is not element and ("id" in value or "@id" in value)):
                raise _NotPlain  # an identified node inside is better served by its own cache entry
            return {k: walk(v, k) for k, v in value.items()}
        if kind is list:
            return [walk(v, key) for v in value]
        if kind in _JSON_SCALARS:
            return value
        raise _NotPlain

    try:
        shape = walk(element, "")
    except _NotPlain:
        return None
    return shape, values


class _NotPlain(Exception):
    pass


def _is_template(expanded: Any, count: int) -> bool:
    """Whether each of ``count`` placeholders appears once, as the whole ``@value`` of a value object."""
    seen: list[int] = []

    def walk(value: Any, key: str | None) -> bool:  # noqa: PLR0911 (one answer per JSON type)
        kind = type(value)
        if kind is str:
            if _PLACEHOLDER not in value:
                return True
            if key != "@value" or not value.startswith(_PLACEHOLDER) or not value.endswith("\x00"):
                return False
            number = value[len(_PLACEHOLDER):-1]
            if not number.isdigit():
                return False
            seen.append(int(number))
            return True
        if kind is dict:
            return all(walk(k, None) and walk(v, k) for k, v in value.items())
        if kind is list:
            return all(walk(v, key) for v in value)
        return True

    return walk(expanded, None) and sorted(seen) == list(range(count))


def _fill(template: Any, values: list[str]) -> Any:
    """A fresh copy of ``template`` with each placeholder ``@value`` replaced by its string."""
    kind = type(template)
    if kind is dict:
        value = template.get("@value")
        if type(value) is str and value.startswith(_PLACEHOLDER):
            filled = dict(template)
            filled["@value"] = values[int(value[len(_PLACEHOLDER):-1])]
            return filled
        return {k: _fill(v, values) for k, v in template.items()}
    if kind is list:
        return [_fill(v, values) for v in template]
    return template


class _Document(dict):  # type: ignore[type-arg]
    """A document for pyld's ``expand``, which starts by deep-copying its input: here a quick copy.

    ``copy.deepcopy`` spends most of its time on bookkeeping JSON does not need
    (a memo for shared and cyclic references): on a level credential it took a
    tenth of the expansion. ``_json_copy`` rebuilds dicts and lists and shares
    the immutable scalars; a subtree the document holds twice comes out as two
    equal copies, which expansion treats alike, and a cycle still ends in
    RecursionError.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: _json_copy(value) for key, value in self.items()}


def _json_copy(value: Any) -> Any:
    """Deep copy of JSON data; anything that is not a dict, list or JSON scalar goes to ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if kind is list:
        return [_json_copy(item) for item in value]
    return value if kind in _JSON_SCALARS else copy.deepcopy(value)


class _NamingProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """Slow path, only after a failure: remembers which key expanded to nothing."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._record_drop)
        self.last_key: str | None = None
        self.found: str | None = None

    _VOCAB = 1  # pyld's _expand_iri(active_ctx, value, base, vocab, ...): the position of vocab in ``args``

    def _expand_iri(self, active_ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        result = super()._expand_iri(active_ctx, value, *args, **kwargs)
        if kwargs.get("vocab") or (len(args) > self._VOCAB and args[self._VOCAB]):
            self.last_key = value
        return result

    def _record_drop(self, term: str | None) -> None:
        if self.found is None:
            self.found = term or self.last_key


def _find_null_mapped_term(input_: Any, options: Any) -> str:
    namer = _NamingProcessor()
    with contextlib.suppress(Exception):  # diagnosis only; the caller raises anyway
        namer.expand(input_, options)
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


def check_expansion_bounds(document: Any) -> None:
    """Refuse a document over ``MAX_JSONLD_OBJECTS``, ``MAX_JSONLD_VALUES`` or ``MAX_JSONLD_DEPTH``.

    The walk stops at the first bound exceeded, so refusing costs at most about one
    bound's worth of steps.

    Raises:
        TooComplexError: naming the bound.
    """
    objects, values = 0, 1
    containers = (Mapping, list, tuple)
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSONLD_DEPTH:
            raise TooComplexError(
                f"JSON-LD expansion refused: the document nests objects and arrays more than "
                f"{MAX_JSONLD_DEPTH} levels deep (work limit)",
                limit="jsonld_depth",
            )
        if isinstance(value, Mapping):
            objects += 1
            if objects > MAX_JSONLD_OBJECTS:
                raise TooComplexError(
                    f"JSON-LD expansion refused: the document holds more than {MAX_JSONLD_OBJECTS:,} JSON "
                    "objects (work limit)",
                    limit="jsonld_objects",
                )
            children: Any = value.values()
        else:
            children = value
        values += len(children)  # counted before they are looked at, so a huge array costs nothing more
        if values > MAX_JSONLD_VALUES:
            raise TooComplexError(
                f"JSON-LD expansion refused: the document holds more than {MAX_JSONLD_VALUES:,} JSON values "
                "(work limit)",
                limit="jsonld_values",
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))


def _check_inline_contexts(value: Any, terms: list[int] | None = None) -> None:
    """Refuse ``@vocab`` in any ``@context`` object written inside the document itself, and more than
    ``MAX_INLINE_CONTEXT_TERMS`` term definitions in such objects altogether (``terms`` counts them)."""
    terms = [0] if terms is None else terms
    if isinstance(value, list):
        for item in value:
            _check_inline_contexts(item, terms)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                _check_context_value(item, terms)
            elif isinstance(item, (dict, list)):
                _check_inline_contexts(item, terms)


def _check_context_value(context: Any, terms: list[int]) -> None:
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            if "@vocab" in entry:
                raise UndefinedTermError(
                    "@vocab", "an inline @context may not set @vocab (it would make undefined terms 'defined')"
                )
            terms[0] += len(entry)
            if terms[0] > MAX_INLINE_CONTEXT_TERMS:
                raise TooComplexError(
                    f"JSON-LD expansion refused: the document's own @context objects define more than "
                    f"{MAX_INLINE_CONTEXT_TERMS:,} terms (work limit)",
                    limit="inline_context_terms",
                )
            for definition in entry.values():
                if isinstance(definition, dict) and "@context" in definition:
                    _check_context_value(definition["@context"], terms)


def _expansion_size(text: str) -> int:
    """What a cached expansion costs, from the JSON text of its element (its key): the key itself and an
    expanded form a few times its size."""
    return 4 * len(text) + 512


def _resolver_cache(document_loader: DocumentLoader) -> Any:
    cache = getattr(document_loader, "resolved_contexts", None)
    # A loader without its own cache gets a fresh one per call: slower, never shared.
    return cache if cache is not None else BoundedCache(64)


def _unknown_context(error: BaseException) -> UnknownContextError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UnknownContextError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def to_rdf_dataset(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> rdfc.Dataset:
    """Expand ``document`` safely and deserialize it to a pyld RDF dataset.

    Raises:
        UnknownContextError: a context URL the loader does not serve.
        UndefinedTermError: data JSON-LD would drop (see module docstring).
        CanonicalizationError: any other JSON-LD error.
    """
    rdf = _rdf(document, document_loader)
    return rdf.dataset() if isinstance(rdf, _Deserializer) else rdf


def canonicalize_dataset(dataset: rdfc.Dataset) -> str:
    """RDFC-1.0 canonical N-Quads of a pyld RDF dataset (see ``rdfc.canonical_nquads``).

    Raises:
        CanonicalizationError: the dataset needs more than ``rdfc.MAX_RDFC_WORK`` steps.
    """
    return rdfc.canonical_nquads(dataset)


def canonicalize(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> str:
    """Canonicalize a JSON-LD document with RDFC-1.0 (URDNA2015) to N-Quads, in safe mode.

    The same as ``canonicalize_dataset(to_rdf_dataset(document))``. When
    ``_Deserializer`` takes the document, its quads go to RDFC-1.0 as N-Quads
    tokens, and pyld's dataset is built only if the blank nodes need pyld's
    general algorithm.

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
            would take more than ``rdfc.MAX_RDFC_WORK`` steps to canonicalize.
    """
    rdf = _rdf(document, document_loader)
    if not isinstance(rdf, _Deserializer):
        return _canonical(rdfc.canonical_nquads, rdf)
    direct = _canonical(rdfc.canonical_nquads_if_distinct, rdf.quads())
    return direct if direct is not None else _canonical(rdfc.pyld_canonical_nquads, rdf.dataset())


def _canonicalize_reference(document: Mapping[str, Any], *, document_loader: DocumentLoader) -> str:
    """``canonicalize`` by pyld alone, as before ``_Deserializer``, ``rdfc``'s direct path and the expansion caches.

    Kept so that tests can compare the two byte for byte.
    """
    return _canonical(rdfc.pyld_canonical_nquads, _rdf(document, document_loader, pyld_only=True))


_Result = TypeVar("_Result")


def _canonical(canonicalizer: Callable[[Any], _Result], rdf: Any) -> _Result:
    """Run an RDFC-1.0 step, reporting any failure but the work limit as a ``CanonicalizationError``."""
    try:
        return canonicalizer(rdf)
    except CanonicalizationError:
        raise
    except Exception as error:
        raise CanonicalizationError(f"RDFC-1.0 canonicalization failed: {_describe(error)}") from error


def _rdf(
    document: Mapping[str, Any], document_loader: DocumentLoader, *, pyld_only: bool = False
) -> _Deserializer | rdfc.Dataset:
    """Expand ``document`` safely, then deserialize it with ``_Deserializer`` or, outside its subset, pyld.

    With ``pyld_only``, pyld's ``to_rdf`` does all of it (the reference path).
    """
    if not isinstance(document, Mapping):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    check_expansion_bounds(document)
    _check_inline_contexts(document)
    options = {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_resolver_cache(document_loader), document_loader),
        "produceGeneralizedRdf": False,
        "processingMode": "json-ld-1.1",
        "base": None,  # pyld resolves relative IRIs against http://example.org/base/ when base is ""
    }
    try:
        processor = (
            _SafeProcessor()  # the reference: no memo of contexts, no reuse of expanded nodes
            if pyld_only
            else _SafeProcessor(
                getattr(document_loader, "processed_contexts", None), getattr(document_loader, "expanded_nodes", None)
            )
        )
        if pyld_only:
            dataset: rdfc.Dataset = processor.to_rdf(dict(document), options)
            return dataset
        try:
            expanded = processor.expand(_Document(document), options)
        except jsonld.JsonLdError as cause:  # worded as pyld's to_rdf words it, so messages stay the same
            raise jsonld.JsonLdError(
                "Could not expand input before serialization to RDF.", "jsonld.RdfError"
            ) from cause
        deserializer = _Deserializer()
        try:
            deserializer.add(expanded)
        except _OutsideSubset:
            return _pyld_dataset(processor, expanded, options)
    except UndefinedTermError:
        raise
    except Exception as error:  # pyld raises JsonLdError wrapping the loader's error
        unknown = _unknown_context(error)
        if unknown is not None:
            raise UnknownContextError(unknown.url) from None
        raise CanonicalizationError(f"JSON-LD processing failed: {_describe(error)}") from error
    else:
        return deserializer


def _pyld_dataset(processor: jsonld.JsonLdProcessor, expanded: list[Any], options: dict[str, Any]) -> rdfc.Dataset:
    """The rest of pyld's ``to_rdf`` after expansion: node map, then RDF for each graph it keeps."""
    issuer = IdentifierIssuer("_:b")
    node_map: dict[str, dict[str, Any]] = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    return {
        name: processor._graph_to_rdf(graph, issuer, options)
        for name, graph in sorted(node_map.items())
        if name == "@default" or _ABSOLUTE_IRI.match(name)
    }


class _OutsideSubset(Exception):
    """Expanded JSON-LD that ``_Deserializer`` leaves to pyld's node map."""


#: An RDF object as ``_Deserializer`` keeps it: (kind, value, datatype, language), pyld's names for the
#: kinds: ("IRI", iri, "", None), ("blank node", label, "", None), ("literal", lexical form, datatype, tag or None).
_Term = tuple[str, str, str, str | None]


class _Deserializer:
    """JSON-LD 1.1 "Deserialize JSON-LD to RDF" for the expanded form our documents take.

    That subset is node objects (``@id``, ``@type`` and properties, nested or
    referenced, blank or identified) and value objects (``@value`` with an
    optional ``@type`` or ``@language``) holding strings, booleans, integers
    and finite floats, all in the default graph. Anything else raises
    ``_OutsideSubset`` and pyld converts the document instead: ``@list``,
    ``@graph``, ``@reverse``, ``@included``, ``@index``, ``@direction``,
    ``@json`` literals, blank node types, integers of 1e21 and more (pyld
    writes them as doubles and fails on those beyond float range) and
    ``xsd:double`` values that are not JSON numbers (pyld parses them with
    Python's ``float``).

    ``dataset()`` equals pyld's ``to_rdf`` exactly, down to the blank node
    labels and the order of the triples, so that ``to_rdf_dataset`` keeps its
    contract and pyld's general RDFC-1.0 sees the same input as before. So the
    walk follows pyld's node map: blank nodes are labelled ``_:b0``, ``_:b1``, …
    in the order a depth-first walk meets them, properties in sorted order; a
    node met twice (an issuer that is also the achievement's creator) is
    merged, and a value is added to a property only if the property does not
    hold an equal one yet, equal as pyld's ``compare_values`` has it (same
    ``@type`` and ``@language``; ``1 == 1.0`` but ``True != 1``); triples come
    out by subject, then property (``@type`` first), sorted as strings.

    It expects an expansion ``_check_expanded`` accepted: every ``@id``,
    ``@type`` and property an absolute IRI, so no triple is dropped.
    """

    def __init__(self) -> None:
        #: subject -> property ("@type" or an IRI) -> (duplicate key -> object), in insertion order.
        self.nodes: dict[str, dict[str, dict[Hashable, _Term]]] = {}
        #: blank node labels written in the document -> the labels issued for them.
        self.blank_nodes: dict[str, str] = {}
        self.issued = 0

    def add(self, expanded: list[Any]) -> None:
        """Walk an expanded document (a list of node objects)."""
        for element in expanded:
            self._node(element, None)

    def dataset(self) -> rdfc.Dataset:
        """The default graph's triples as pyld's ``_graph_to_rdf`` builds and orders them."""
        triples = []
        for subject in sorted(self.nodes):
            subject_kind = "blank node" if subject.startswith("_:") else "IRI"
            for name, objects in sorted(self.nodes[subject].items()):
                predicate = _RDF_TYPE if name == "@type" else name
                for kind, value, datatype, language in objects.values():
                    obj = {"type": kind, "value": value}
                    if kind == "literal":
                        obj["datatype"] = datatype
                        if language is not None:
                            obj["language"] = language
                    triples.append(
                        {
                            "subject": {"type": subject_kind, "value": subject},
                            "predicate": {"type": "IRI", "value": predicate},
                            "object": obj,
                        }
                    )
        return {"@default": triples}

    def quads(self) -> list[rdfc.Quad]:
        """The same triples as ``rdfc`` tokens, in no particular order."""
        quads: list[rdfc.Quad] = []
        for subject, properties in self.nodes.items():
            subject_token = subject if subject.startswith("_:") else f"<{subject}>"
            for name, objects in properties.items():
                predicate_token = f"<{_RDF_TYPE if name == '@type' else name}>"
                for kind, value, datatype, language in objects.values():
                    if kind == "IRI":
                        obj = f"<{value}>"
                    elif kind == "blank node":
                        obj = value
                    else:
                        obj = rdfc.literal_token(value, datatype, language)
                    quads.append((subject_token, predicate_token, obj, ""))
        return quads

    def _label(self, node_id: Any) -> str:
        """The node's subject: its IRI, or a blank node label issued in walk order."""
        if node_id is None:
            label = f"_:b{self.issued}"
            self.issued += 1
            return label
        if type(node_id) is not str:
            raise _OutsideSubset
        if not node_id.startswith("_:"):
            return node_id
        known = self.blank_nodes.get(node_id)
        if known is None:
            known = self.blank_nodes[node_id] = self._label(None)
        return known

    def _node(self, element: Any, referrer: dict[Hashable, _Term] | None) -> None:  # noqa: PLR0912 (per keyword)
        """Add a node object's triples; ``referrer`` holds the objects of the property that points at it."""
        if type(element) is not dict or "@value" in element or "@list" in element or "@set" in element:
            raise _OutsideSubset
        label = self._label(element.get("@id"))
        properties = self.nodes.setdefault(label, {})
        if referrer is not None:
            key: Hashable = ("@id", label)
            if key not in referrer:
                referrer[key] = ("blank node" if label.startswith("_:") else "IRI", label, "", None)
        for name in sorted(element):
            values = element[name]
            if name == "@id":
                continue
            if type(values) is not list:
                raise _OutsideSubset
            if name == "@type":
                types = properties.setdefault("@type", {})
                for node_type in values:
                    if type(node_type) is not str or node_type.startswith("_:"):
                        raise _OutsideSubset
                    if node_type not in types:
                        types[node_type] = ("IRI", node_type, "", None)
                continue
            if name.startswith("@"):
                raise _OutsideSubset
            objects = properties.setdefault(name, {})
            for value in values:
                if type(value) is dict and "@value" in value:
                    key, literal = _literal(value)
                    if key not in objects:
                        objects[key] = literal
                else:
                    self._node(value, objects)


_DOUBLE_FROM = 1e21  # JSON-LD writes a number this large or larger as an xsd:double, integral or not


def _literal(value_object: dict[str, Any]) -> tuple[Hashable, _Term]:  # noqa: PLR0911 (one per kind of literal)
    """pyld's duplicate key for a value object, and the literal pyld's ``_object_to_rdf`` makes of it."""
    if not _VALUE_KEYS.issuperset(value_object):
        raise _OutsideSubset
    value = value_object["@value"]
    datatype = value_object.get("@type")
    if datatype is not None and (type(datatype) is not str or datatype == "@json"):
        raise _OutsideSubset
    kind = type(value)
    if kind not in (str, bool, int, float):
        raise _OutsideSubset
    language = value_object.get("@language")
    key = (datatype, language, kind is bool, value)
    if kind is str:
        if datatype == _XSD_DOUBLE:
            raise _OutsideSubset
        if "@language" in value_object:
            return key, ("literal", value, datatype or _RDF_LANGSTRING, language)
        return key, ("literal", value, datatype or _XSD_STRING, None)
    if kind is bool:
        return key, ("literal", "true" if value else "false", datatype or _XSD_BOOLEAN, None)
    if kind is int:
        if abs(value) >= _DOUBLE_FROM:
            raise _OutsideSubset
        if datatype == _XSD_DOUBLE:
            return key, ("literal", _xsd_double(float(value)), _XSD_DOUBLE, None)
        return key, ("literal", str(value), datatype or _XSD_INTEGER, None)
    if not math.isfinite(value):
        raise _OutsideSubset
    if not value.is_integer() or datatype == _XSD_DOUBLE or abs(value) >= _DOUBLE_FROM:
        return key, ("literal", _xsd_double(value), datatype or _XSD_DOUBLE, None)
    return key, ("literal", str(int(value)), datatype or _XSD_INTEGER, None)


def _xsd_double(value: float) -> str:
    """The canonical ``xsd:double`` JSON-LD asks for: ``1.5E0``, ``1.0E-1``, ``1.2345E21``.

    That is C's ``%1.15E`` with the mantissa's trailing zeros (but one) and the
    exponent's ``+`` sign and leading zeros removed.
    """
    mantissa, exponent = f"{value:1.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


_MAX_CAUSES = 4  # the error and the causes behind it that a message names


def _describe(error: BaseException) -> str:
    messages: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(messages) < _MAX_CAUSES:
        text = seen.args[0] if seen.args else type(seen).__name__
        messages.append(str(text))
        seen = seen.__cause__
    return " <- ".join(messages)


