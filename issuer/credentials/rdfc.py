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

Anything else goes to pyld's URDNA2015 under a work bound
(``MAX_RDFC_WORK``): two blank nodes with the same first-degree hash, or a
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

from issuer.credentials.errors import CanonicalizationError

#: A pyld RDF dataset: graph name ("@default" or an IRI / blank node label) -> triples.
Dataset = dict[str, list[dict[str, Any]]]
#: One quad as N-Quads tokens: subject, predicate, object, graph ("" for the default graph).
Quad = tuple[str, str, str, str]

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

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_CANONICAL_PREFIX = "_:c14n"


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


def pyld_canonical_nquads(dataset: Dataset) -> str:
    """pyld's URDNA2015 under ``MAX_RDFC_WORK`` (the general path; it modifies ``dataset``).

    Raises:
        CanonicalizationError: the dataset needs more than ``MAX_RDFC_WORK`` steps.
    """
    output: str = _BoundedURDNA2015(MAX_RDFC_WORK).main(dataset, {"algorithm": ALGORITHM, "format": NQUADS})
    return output


def canonical_nquads(dataset: Dataset) -> str:
    """RDFC-1.0 canonical N-Quads of ``dataset``: sorted lines, each ending in ``\\n``.

    Computed directly when every blank node has a distinct first-degree hash,
    otherwise by :func:`pyld_canonical_nquads` (same output either way).

    Raises:
        CanonicalizationError: the dataset needs more than ``MAX_RDFC_WORK`` steps.
    """
    quads = _quads(dataset)
    direct = canonical_nquads_if_distinct(quads) if quads is not None else None
    return direct if direct is not None else pyld_canonical_nquads(dataset)


def canonical_nquads_if_distinct(quads: list[Quad]) -> str | None:
    """Canonical N-Quads of token quads whose blank nodes' first-degree hashes all differ, else None.

    Blank node tokens must start with ``_:`` but not ``_:c14n``; IRIs are
    written ``<iri>`` and literals as :func:`literal_token` writes them.
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
            if len(triple) != 3:  # a "name" entry, or a malformed triple: pyld decides
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
    hashes: dict[str, str] = {}
    seen: set[str] = set()
    for label, mentioned in mentions.items():
        digest = _first_degree_hash(label, mentioned)
        if digest in seen:
            return None
        seen.add(digest)
        hashes[label] = digest
    return {label: f"{_CANONICAL_PREFIX}{index}" for index, label in enumerate(sorted(hashes, key=hashes.__getitem__))}


def _first_degree_hash(label: str, quads: list[Quad]) -> str:
    """RDFC-1.0 4.6: SHA-256 of the sorted lines, ``label`` written ``_:a`` and other blank nodes ``_:z``.

    Each line is encoded on its own, as pyld does, so text that is not valid
    Unicode fails the same way.
    """
    lines = []
    for subject, predicate, obj, graph in quads:
        subject = "_:a" if subject == label else "_:z" if subject[0] == "_" else subject
        obj = "_:a" if obj == label else "_:z" if obj[0] == "_" else obj
        if graph:
            graph = "_:a" if graph == label else "_:z" if graph[0] == "_" else graph
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
