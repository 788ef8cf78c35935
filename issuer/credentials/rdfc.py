"""RDFC-1.0 canonical N-Quads of a pyld RDF dataset, computed directly when that is easy.

RDFC-1.0 (= URDNA2015) labels blank nodes in two phases. Every blank node first
gets its first-degree hash (section 4.6): SHA-256 of the sorted N-Quads lines
that mention it, with itself written ``_:a`` and every other blank node ``_:z``.
Nodes whose hash no other node shares get the canonical labels ``_:c14n0``,
``_:c14n1``, … in hash order (4.4 step 5); only nodes that share a hash go
through Hash N-Degree Quads (4.8), the expensive and potentially exponential
part. The blank nodes of our credentials (identity object, evidence, alignments,
results, status entry) differ in content, so their first-degree hashes are all
distinct and that phase never runs. For that case the canonical form is
computed here from the quads directly, as N-Quads tokens: pyld's URDNA2015
gets there too, but deep-copies every component it hashes and serializes each
quad from nested dicts again for every blank node in it. On a level credential
(210 quads, 25 blank nodes) that took 1.8 ms; this takes 0.55 ms from pyld's
dataset and 0.35 ms from tokens.

Anything else goes to pyld's URDNA2015 under work bounds (see
``MAX_RDFC_WORK`` and the limits beside it): two blank nodes with the same first-degree hash, or a
dataset outside what the direct path models (a term that is neither IRI, blank
node nor string literal, a blank node label that does not start with ``_:``, a
triple with a ``name``). Both paths give the same bytes: lines are written as
``pyld.nquads.serialize_nquad`` writes them, the output our test vectors were
checked against. That includes its literal escaping (backslash, tab, newline,
carriage return and double quote; nothing else). Labels already starting with
``_:c14n`` also go to pyld, which would leave them unrenamed.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from pyld.canon import URDNA2015
from pyld.identifier_issuer import IdentifierIssuer

from issuer.credentials.errors import TooComplexError

#: A pyld RDF dataset: graph name ("@default" or an IRI / blank node label) -> triples.
Dataset = dict[str, list[dict[str, Any]]]
#: One quad as N-Quads tokens: subject, predicate, object, graph ("" for the default graph).
Quad = tuple[str, str, str, str]

ALGORITHM = "URDNA2015"  # RDFC-1.0; pyld would otherwise default to URGNA2012
NQUADS = "application/n-quads"

# Work bounds. RDFC-1.0 (section 4.8, Hash N-Degree Quads, and the security considerations on
# "dataset poisoning") warns that blank nodes alike enough to share their first-degree hash make
# the N-degree phase try every permutation of them, recursively, and asks implementations to
# bound that work. A few hundred bytes of "poison" JSON-LD (six blank nodes all linked to each
# other, or an @list of 300 equal values) otherwise cost seconds. Each bound below is checked
# before the work it guards is done, and raises TooComplexError. Genuine credentials are far
# inside them: a level credential has ~210 quads and 25 blank nodes, all with distinct first-degree
# hashes (no N-degree work at all); the 1EdTech complete.json sample, the most tangled input we
# hold, has 363 quads, 42 blank nodes of which 20 share a hash, and needs 20 Hash N-Degree Quads
# calls and ~20,000 work units.
#: Quads in one dataset.
MAX_QUADS = 20_000
#: Distinct blank nodes in one dataset.
MAX_BLANK_NODES = 5_000
#: Blank nodes whose first-degree hash another blank node shares (those go to Hash N-Degree Quads).
MAX_ALIKE_BLANK_NODES = 100
#: Calls of Hash N-Degree Quads, recursive ones included.
MAX_N_DEGREE_CALLS = 1_000
#: Work units of Hash N-Degree Quads: one unit is roughly one identifier issued while trying a
#: permutation (~0.3 us with the cheap issuer copy below), so this caps that phase near 0.05 s.
MAX_RDFC_WORK = 100_000

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_CANONICAL_PREFIX = "_:c14n"
_TRIPLE_TERMS = 3  # subject, predicate, object
_REFUSED = "RDFC-1.0 canonicalization refused: "


def _too_complex(reason: str, limit: str) -> TooComplexError:
    return TooComplexError(f"{_REFUSED}{reason} (work limit)", limit=limit)


class _CopyingIssuer(IdentifierIssuer):  # type: ignore[misc]
    """pyld's identifier issuer with a cheap copy: Hash N-Degree Quads copies the issuer for every
    permutation it tries, and ``copy.deepcopy`` of its dict of strings was most of that phase's time.
    Identifiers are strings (immutable), so copying the map and the list is a full copy."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _CopyingIssuer:
        twin: _CopyingIssuer = _CopyingIssuer.__new__(_CopyingIssuer)
        twin.prefix, twin.counter = self.prefix, self.counter
        twin.existing, twin.order = dict(self.existing), list(self.order)
        return twin


class _BoundedURDNA2015(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 under the work bounds above (``MAX_N_DEGREE_CALLS``, ``MAX_RDFC_WORK``).

    Every call of Hash N-Degree Quads is counted, and starts by grouping the
    related blank nodes (``create_hash_to_related``); the permutations it then
    tries are known at that point, so their cost is charged up front and the
    budget is enforced before the work is done, not after. ``calls`` and
    ``work`` stay readable afterwards (tests and benchmarks read them).
    """

    def __init__(self, budget: int | None = None, max_calls: int | None = None) -> None:
        super().__init__()
        self.budget = MAX_RDFC_WORK if budget is None else budget
        self.max_calls = MAX_N_DEGREE_CALLS if max_calls is None else max_calls
        self.work = 0
        self.calls = 0

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls > self.max_calls:
            raise _too_complex(
                f"its blank nodes are so alike that canonicalizing them needs more than "
                f"{self.max_calls:,} Hash N-Degree Quads calls",
                "n_degree_calls",
            )
        if type(issuer) is IdentifierIssuer:
            issuer.__class__ = _CopyingIssuer  # same attributes; only the copy differs
        result: dict[str, Any] = super().hash_n_degree_quads(id_, issuer)
        return result

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        issued = len(issuer.order)
        # Each permutation copies the issuer and issues one identifier per related node
        # (RDFC-1.0 4.8.3 step 5.4); beyond 20 nodes the factorial is over any budget anyway.
        self.work += 1 + sum(math.factorial(min(len(nodes), 21)) * (issued + len(nodes)) for nodes in groups.values())
        if self.work > self.budget:
            raise _too_complex(
                f"its blank nodes are so alike and interlinked that canonicalizing them exceeds "
                f"the work limit ({self.budget:,} steps)",
                "n_degree_work",
            )
        return groups


def _check_size(quads: int, blank_nodes: int) -> None:
    if quads > MAX_QUADS:
        raise _too_complex(f"the document makes {quads:,} RDF statements, more than {MAX_QUADS:,}", "quads")
    if blank_nodes > MAX_BLANK_NODES:
        raise _too_complex(
            f"the document has {blank_nodes:,} blank nodes (objects without an id), more than {MAX_BLANK_NODES:,}",
            "blank_nodes",
        )


def _dataset_size(dataset: Dataset) -> tuple[int, int]:
    """(quads, distinct blank nodes) of a pyld dataset, without trusting its shape."""
    quads = 0
    blank: set[Any] = set()
    for name, triples in dataset.items():
        if isinstance(name, str) and name.startswith("_:"):
            blank.add(name)
        for triple in triples:
            quads += 1
            for key in ("subject", "object"):
                component = triple.get(key) if isinstance(triple, dict) else None
                if isinstance(component, dict) and component.get("type") == "blank node":
                    blank.add(component.get("value"))
    return quads, len(blank)


def pyld_canonical_nquads(dataset: Dataset) -> str:
    """pyld's URDNA2015 under the work bounds (the general path; it modifies ``dataset``).

    Raises:
        TooComplexError: the dataset is over ``MAX_QUADS`` or ``MAX_BLANK_NODES``, or
            needs more than ``MAX_N_DEGREE_CALLS`` calls or ``MAX_RDFC_WORK`` steps.
    """
    _check_size(*_dataset_size(dataset))
    output: str = _BoundedURDNA2015().main(dataset, {"algorithm": ALGORITHM, "format": NQUADS})
    return output


def canonical_nquads(dataset: Dataset) -> str:
    """RDFC-1.0 canonical N-Quads of ``dataset``: sorted lines, each ending in ``\\n``.

    Computed directly when every blank node has a distinct first-degree hash,
    otherwise by :func:`pyld_canonical_nquads` (same output either way).

    Raises:
        TooComplexError: the dataset is over one of the work bounds.
    """
    quads = _quads(dataset)
    direct = canonical_nquads_if_distinct(quads) if quads is not None else None
    return direct if direct is not None else pyld_canonical_nquads(dataset)


def canonical_nquads_if_distinct(quads: list[Quad]) -> str | None:
    """Canonical N-Quads of token quads whose blank nodes' first-degree hashes all differ, else None.

    Blank node tokens must start with ``_:`` but not ``_:c14n``; IRIs are
    written ``<iri>`` and literals as :func:`literal_token` writes them.

    Raises:
        TooComplexError: over ``MAX_QUADS`` or ``MAX_BLANK_NODES``, or more than
            ``MAX_ALIKE_BLANK_NODES`` blank nodes share a first-degree hash (checked
            here, before pyld's general algorithm is given the dataset).
    """
    labels = _labels_if_distinct(quads)
    if labels is None:
        return None
    return "".join(sorted(_line(quad, labels) for quad in quads))


def literal_token(value: str, datatype: str, language: str | None) -> str:
    """A literal as ``pyld.nquads.serialize_nquad`` writes it (a language tag only on ``rdf:langString``)."""
    text = f'"{_escape(value)}"'
    if datatype == _RDF_LANGSTRING:
        return f"{text}@{language}" if language else text
    return text if datatype == _XSD_STRING else f"{text}^^<{datatype}>"


def _escape(value: str) -> str:
    """Literal escaping exactly as ``pyld.nquads.escape`` (backslash first, so nothing is escaped twice)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace('"', '\\"')
    )


def _resource(component: dict[str, Any]) -> str | None:
    """The token of an IRI or blank node component; None for anything else."""
    kind, value = component["type"], component["value"]
    if type(value) is not str:
        return None
    if kind == "IRI":
        return f"<{value}>"
    if kind == "blank node" and value.startswith("_:") and not value.startswith(_CANONICAL_PREFIX):
        return value
    return None


def _object(component: dict[str, Any]) -> str | None:
    """The token of an object: a resource, or a literal as pyld writes it; None for anything else."""
    if component["type"] != "literal":
        return _resource(component)
    value, datatype, language = component["value"], component["datatype"], component.get("language")
    if type(value) is not str or type(datatype) is not str or (language and type(language) is not str):
        return None
    return literal_token(value, datatype, language)


def _quads(dataset: Dataset) -> list[Quad] | None:
    """The dataset as token tuples, or None when it holds anything the direct path does not model."""
    quads: list[Quad] = []
    for graph_name, triples in dataset.items():
        if graph_name == "@default":
            graph = ""
        elif type(graph_name) is not str or graph_name.startswith(_CANONICAL_PREFIX):
            return None
        else:
            graph = graph_name if graph_name.startswith("_:") else f"<{graph_name}>"
        for triple in triples:
            if len(triple) != _TRIPLE_TERMS:  # a "name" entry, or a malformed triple: pyld decides
                return None
            try:
                subject = _resource(triple["subject"])
                predicate = _resource(triple["predicate"])
                obj = _object(triple["object"])
            except (KeyError, TypeError):
                return None
            if subject is None or predicate is None or not predicate.startswith("<") or obj is None:
                return None  # a literal or blank node predicate is generalized RDF
            quads.append((subject, predicate, obj, graph))
    return quads


def _labels_if_distinct(quads: list[Quad]) -> dict[str, str] | None:
    """Canonical labels when all first-degree hashes differ (RDFC-1.0 4.4 step 5), else None.

    A quad is listed once per blank node position it holds, as in the
    specification's blank node to quads map, so a quad linking a node to
    itself counts twice in that node's hash.

    Raises:
        TooComplexError: over ``MAX_QUADS``, ``MAX_BLANK_NODES`` or ``MAX_ALIKE_BLANK_NODES``.
    """
    mentions: dict[str, list[Quad]] = {}
    for quad in quads:
        subject, _, obj, graph = quad
        # Tokens are never empty, and only blank nodes start with "_" (IRIs "<", literals '"').
        if subject[0] == "_":
            mentions.setdefault(subject, []).append(quad)
        if obj[0] == "_":
            mentions.setdefault(obj, []).append(quad)
        if graph and graph[0] == "_":
            mentions.setdefault(graph, []).append(quad)
    _check_size(len(quads), len(mentions))
    hashes: dict[str, str] = {}
    sharing: dict[str, int] = {}
    for label, mentioned in mentions.items():
        digest = _first_degree_hash(label, mentioned)
        sharing[digest] = sharing.get(digest, 0) + 1
        hashes[label] = digest
    if len(sharing) == len(hashes):
        ordered = sorted(hashes, key=hashes.__getitem__)
        return {label: f"{_CANONICAL_PREFIX}{index}" for index, label in enumerate(ordered)}
    alike = sum(count for count in sharing.values() if count > 1)
    if alike > MAX_ALIKE_BLANK_NODES:
        raise _too_complex(
            f"{alike:,} of its blank nodes are alike (they share their first-degree hash), "
            f"more than {MAX_ALIKE_BLANK_NODES:,}",
            "alike_blank_nodes",
        )
    return None


def _first_degree_hash(label: str, quads: list[Quad]) -> str:
    """RDFC-1.0 4.6: SHA-256 of the sorted lines, ``label`` written ``_:a`` and other blank nodes ``_:z``.

    Each line is encoded on its own, as pyld does, so text that is not valid
    Unicode fails the same way.
    """
    lines = []
    for quad_subject, predicate, quad_object, quad_graph in quads:
        subject = "_:a" if quad_subject == label else "_:z" if quad_subject[0] == "_" else quad_subject
        obj = "_:a" if quad_object == label else "_:z" if quad_object[0] == "_" else quad_object
        if quad_graph:
            graph = "_:a" if quad_graph == label else "_:z" if quad_graph[0] == "_" else quad_graph
            lines.append(f"{subject} {predicate} {obj} {graph} .\n")
        else:
            lines.append(f"{subject} {predicate} {obj} .\n")
    lines.sort()
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def _line(quad: Quad, labels: dict[str, str]) -> str:
    """One N-Quads line with blank nodes renamed by ``labels``."""
    subject, predicate, obj, graph = quad
    subject = labels.get(subject, subject)
    obj = labels.get(obj, obj)
    if graph:
        return f"{subject} {predicate} {obj} {labels.get(graph, graph)} .\n"
    return f"{subject} {predicate} {obj} .\n"
