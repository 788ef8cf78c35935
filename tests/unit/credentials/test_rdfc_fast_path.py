"""The direct JSON-LD → RDF and RDFC-1.0 paths give pyld's bytes exactly, and hand over to pyld where they must.

Every comparison is against ``_canonicalize_reference``: the pyld-only path the
module used before (pyld's ``to_rdf``, then its URDNA2015 under the work limit).
Errors count as outcomes too: both paths must raise the same error, same text.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld

from credentials_support import BASE_URL, EXAMPLES_CONTEXT, EXAMPLES_V2, ISSUER_DID, NOW, VECTORS, load_json
from issuer.credentials import (
    CanonicalizationError,
    OfflineDocumentLoader,
    canonicalize,
    document_loader,
    generate_ed25519,
    proof_configuration,
    rdfc,
    sign,
)
from issuer.credentials.canonicalize import (
    _canonicalize_reference,
    _Deserializer,
    _json_copy,
    _rdf,
    _xsd_double,
    canonicalize_dataset,
    to_rdf_dataset,
)
from issuer.credentials.status_list import Bitstring, build_status_list_credential, status_entry

VM = f"{ISSUER_DID}#ed-1"
LIST_URL = f"{BASE_URL}/status/3f0c9a52-5a43-4d8e-9f3b-0c1d2e3f4a5b"
CLR_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
]
#: A loader that serves the W3C examples context too (the W3C vectors need it); no caches shared with the app.
LOADER = OfflineDocumentLoader({EXAMPLES_V2: load_json(EXAMPLES_CONTEXT)})


def outcome(function: Callable[[], Any]) -> Any:
    """The result, or the error's type, text and term: what a caller can observe."""
    try:
        return function()
    except Exception as error:  # noqa: BLE001 - the error is the outcome being compared
        return (type(error).__name__, str(error), getattr(error, "term", None), getattr(error, "url", None))


def path_taken(document: dict[str, Any], loader: Any = LOADER) -> str:
    """Which path ``canonicalize`` takes: "direct" (both direct steps), "rdfc-fallback" or "jsonld-fallback"."""
    rdf = _rdf(document, loader)
    if not isinstance(rdf, _Deserializer):
        return "jsonld-fallback"
    return "direct" if rdfc.canonical_nquads_if_distinct(rdf.quads()) is not None else "rdfc-fallback"


def assert_same_as_reference(document: Any, loader: Any = LOADER) -> Any:
    """Direct and reference paths agree on the canonical form, the dataset, and any error."""
    before = copy.deepcopy(document)
    expected = outcome(lambda: _canonicalize_reference(document, document_loader=loader))
    assert outcome(lambda: canonicalize(document, document_loader=loader)) == expected
    reference_dataset = outcome(lambda: _rdf(document, loader, pyld_only=True))
    assert outcome(lambda: to_rdf_dataset(document, document_loader=loader)) == reference_dataset
    if isinstance(reference_dataset, dict):
        assert outcome(lambda: canonicalize_dataset(copy.deepcopy(reference_dataset))) == expected
    assert document == before
    return expected


def unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def proof_configurations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What eddsa-rdfc-2022 canonicalizes for each proof: the proof without its value, with the document's context."""
    proofs = document.get("proof", [])
    configs = []
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, dict):
            config = {key: value for key, value in proof.items() if key != "proofValue"}
            config.setdefault("@context", document.get("@context"))
            configs.append(config)
    return configs


# --- every JSON-LD document in the spec vectors -------------------------------------------------------------


def _vector_documents() -> list[Any]:
    cases = []
    for path in sorted(VECTORS.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ""):
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not isinstance(document, dict) or "@context" not in document:
            continue
        name = str(path.relative_to(VECTORS))
        cases.append(pytest.param(unsecured(document), id=name))
        for index, config in enumerate(proof_configurations(document)):
            cases.append(pytest.param(config, id=f"{name}#proof{index}"))
    return cases


VECTOR_DOCUMENTS = _vector_documents()


def test_the_vectors_are_all_found() -> None:
    assert len(VECTOR_DOCUMENTS) > 60


@pytest.mark.parametrize("document", VECTOR_DOCUMENTS)
def test_every_vector_document_canonicalizes_as_before(document: dict[str, Any]) -> None:
    assert_same_as_reference(document)


@pytest.mark.parametrize(
    ("relative", "expected", "path"),
    [
        ("vc-di-eddsa/TestVectors/unsigned.json", "vc-di-eddsa/TestVectors/eddsa-rdfc-2022/canonDocDataInt.txt",
         "direct"),
        ("1edtech-ob3-ldp/ob3-credential.json", "1edtech-ob3-ldp/test-vectors/obv3p0/document-canon.txt", "direct"),
        # its credentials are signed: each proof is a named graph, which pyld deserializes
        ("1edtech-ob3-ldp/clr2-credential.json", "1edtech-ob3-ldp/test-vectors/clrv2p0/document-canon.txt",
         "jsonld-fallback"),
    ],
)
def test_published_canonical_forms(relative: str, expected: str, path: str) -> None:
    document = load_json(VECTORS / relative)
    assert canonicalize(document, document_loader=LOADER) == (VECTORS / expected).read_text()
    assert path_taken(document) == path


def test_named_graphs_go_to_pyld_and_still_match() -> None:
    complete = unsecured(load_json(VECTORS / "1edtech-validator" / "ob30" / "complete.json"))
    assert path_taken(complete) == "jsonld-fallback"  # signed endorsements: proofs are named graphs
    dataset = _rdf(complete, LOADER)
    assert isinstance(dataset, dict)
    assert len(dataset) > 1
    assert rdfc.canonical_nquads(copy.deepcopy(dataset)) == rdfc.pyld_canonical_nquads(copy.deepcopy(dataset))


# --- documents the app makes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> Any:
    return generate_ed25519()


def level_credential(make_credential: Callable[..., dict[str, Any]], evidence: int = 10) -> dict[str, Any]:
    return make_credential(
        evidence=[{"type": ["Evidence"], "narrative": f"Observed in session {i}: \"calm\"\nand focused\\."}
                  for i in range(evidence)],
        credential_status=[status_entry(list_url=LIST_URL, purpose="revocation", index=4242)],
    )


def signed(document: dict[str, Any], key: Any) -> dict[str, Any]:
    return sign(document, private_key=key, verification_method=VM, created=NOW, document_loader=document_loader)


def test_a_level_credential_with_evidence_and_status_takes_the_direct_path(
    make_credential: Callable[..., dict[str, Any]], key: Any
) -> None:
    credential = level_credential(make_credential)
    assert_same_as_reference(credential, document_loader)
    assert path_taken(credential, document_loader) == "direct"
    proof = signed(credential, key)
    for config in proof_configurations(proof):
        assert_same_as_reference(config, document_loader)
        assert path_taken(config, document_loader) == "direct"


def test_a_proof_configuration_built_for_signing_matches(make_credential: Callable[..., dict[str, Any]]) -> None:
    config = proof_configuration(make_credential(), verification_method=VM, created=NOW)
    assert_same_as_reference(config, document_loader)


def test_identical_evidence_forces_the_general_algorithm_and_still_matches(
    make_credential: Callable[..., dict[str, Any]],
) -> None:
    credential = make_credential(evidence=[{"type": ["Evidence"], "narrative": "Observed."}] * 3)
    assert_same_as_reference(credential, document_loader)
    assert path_taken(credential, document_loader) == "rdfc-fallback"


def test_a_status_list_credential_matches() -> None:
    bits = Bitstring()
    for index in (0, 7, 4242, 131071):
        bits.set(index, True)
    credential = build_status_list_credential(
        list_url=LIST_URL, issuer=ISSUER_DID, purpose="revocation",
        bitstring=bits, valid_from=NOW, valid_until=NOW + timedelta(days=30),
    )
    assert_same_as_reference(credential, document_loader)
    assert path_taken(credential, document_loader) == "direct"


def test_a_clr_wrapping_signed_credentials_matches(
    make_credential: Callable[..., dict[str, Any]], level_achievement: dict[str, Any],
    issuer_profile: dict[str, Any], key: Any,
) -> None:
    credentials = [signed(level_credential(make_credential, evidence=i + 1), key) for i in range(3)]
    statements = [
        {**level_achievement, "id": f"{BASE_URL}/achievements/s{i}", "name": f"Statement {i}"} for i in range(4)
    ]
    clr = {
        "@context": CLR_CONTEXTS,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer_profile,
        "name": "Learning record of T. Therapist",
        "validFrom": "2026-05-20T09:30:00Z",
        "partial": True,
        "credentialSubject": {
            "type": ["ClrSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": "sha256$00", "salt": "s"}],
            "verifiableCredential": credentials,
            "achievement": statements,
            "association": [{"type": "Association", "associationType": "isChildOf",
                             "sourceId": s["id"], "targetId": level_achievement["id"]} for s in statements],
        },
    }
    assert_same_as_reference(clr, document_loader)
    for config in proof_configurations(signed(clr, key)):
        assert_same_as_reference(config, document_loader)


def test_a_blank_node_clique_is_still_refused_quickly() -> None:
    link = "https://example.org/ns#link"
    document = load_json(VECTORS / "1edtech-validator" / "ob30" / "simple.json")
    del document["proof"]
    document["https://example.org/ns#nodes"] = [
        {"@id": f"_:n{i}", link: [{"@id": f"_:n{j}"} for j in range(12) if j != i]} for i in range(12)
    ]
    started = time.perf_counter()
    with pytest.raises(CanonicalizationError, match="work limit"):
        canonicalize(document, document_loader=document_loader)
    assert time.perf_counter() - started < 5
    assert path_taken({**document, "https://example.org/ns#nodes": []}, document_loader) == "direct"


def test_the_document_copy_handed_to_pyld_is_deep() -> None:
    original: dict[str, Any] = {"a": [{"b": "c"}, 1, 2.5, True, None], "t": ("x", ["y"])}
    copied = _json_copy(original)
    assert copied == original
    assert copied["a"] is not original["a"]
    assert copied["a"][0] is not original["a"][0]
    assert copied["t"][1] is not original["t"][1]  # not JSON: copy.deepcopy's copy


# --- generated documents ---------------------------------------------------------------------------------------

EX = "https://example.org/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: Every term the generated documents use; none is left to a @vocab.
CONTEXT = {
    "id": "@id",
    "type": "@type",
    "ex": EX,
    "xsd": XSD,
    "Thing": "ex:Thing",
    "Other": "ex:Other",
    "name": "ex:name",
    "note": "ex:note",
    "count": "ex:count",
    "child": "ex:child",
    "link": {"@id": "ex:link", "@type": "@id"},
    "when": {"@id": "ex:when", "@type": "xsd:dateTime"},
    "score": {"@id": "ex:score", "@type": "xsd:double"},
    "title": {"@id": "ex:title", "@language": "en"},
    "steps": {"@id": "ex:steps", "@container": "@list"},
    "labels": {"@id": "ex:labels", "@container": "@language"},
}

#: Quotes, backslashes, line breaks, tabs, controls, non-BMP and right-to-left text; no lone surrogates.
text = st.text(
    st.one_of(st.sampled_from('"\\\n\r\t\x00\x0b\x7f é→𝄞\u200f'), st.characters(codec="utf-8")),
    max_size=12,
)
numbers = st.one_of(
    st.integers(min_value=-(2**69), max_value=2**69),
    st.sampled_from([0, -0.0, 1.0, 2.5, 1e20, 1e21, 1e22, 1.2345678901234567e23, 1e-7, 5e-324, 1.7976931348623157e308]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
#: Integers from 1e21 on, which pyld writes as doubles (and fails on past float range): pyld's path.
huge_integers = st.sampled_from([10**21, -(10**21), 2**80, 10**400])
scalars = st.one_of(text, numbers)
value_objects = st.one_of(
    st.builds(lambda v, lang: {"@value": v, "@language": lang}, text, st.sampled_from(["en", "de-CH", "EN-gb"])),
    st.builds(lambda v, t: {"@value": v, "@type": t}, scalars,
              st.sampled_from([f"{XSD}date", f"{XSD}integer", f"{XSD}string", f"{EX}Custom"])),
    st.builds(lambda v: {"@value": v, "@type": f"{XSD}double"}, numbers),
)
#: A string typed xsd:double, which pyld parses with Python's float(): pyld's path.
double_strings = st.builds(lambda v: {"@value": v, "@type": f"{XSD}double"},
                           st.one_of(text, st.sampled_from(["1.5", " 2 ", "1_0", "nan", "-inf", "1e400"])))
identifiers = st.sampled_from([f"{EX}a", f"{EX}b", "urn:uuid:1", "did:web:example.org", "_:x", "_:y"])


def node(children: st.SearchStrategy[Any] | None = None, *, rare: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """A node object; with ``children``, also properties holding nested nodes (blank or identified).

    Only ``rare`` nodes hold what the direct deserializer leaves to pyld (lists, huge integers, double strings).
    """
    optional: dict[str, st.SearchStrategy[Any]] = {
        "id": identifiers,
        "type": st.lists(st.sampled_from(["Thing", "Other"]), max_size=2),
        "name": st.one_of(scalars, st.lists(scalars, max_size=3)),
        "note": st.one_of(value_objects, st.lists(st.one_of(value_objects, scalars), max_size=3)),
        "count": numbers,
        "when": text,
        "score": numbers,
        "title": st.one_of(text, st.lists(text, max_size=2)),
        "link": st.sampled_from([f"{EX}a", f"{EX}c", "_:x"]),
        "labels": st.dictionaries(st.sampled_from(["en", "fr"]), text, max_size=2),
    }
    if rare:
        optional["count"] = st.one_of(numbers, huge_integers)
        optional["score"] = st.one_of(numbers, text)
        optional["note"] = st.lists(st.one_of(value_objects, double_strings), max_size=3)
    if children is not None:
        optional["child"] = st.one_of(children, st.lists(children, max_size=3))
        if rare:
            optional["steps"] = st.lists(st.one_of(scalars, children), max_size=3)
    return st.fixed_dictionaries({}, optional=optional).filter(lambda item: len(item) > 0)


def nested(rare: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Nodes nested three deep at most; ``deferred`` keeps the reprs short (hypothesis warns about long ones)."""
    leaf = node(rare=rare)
    inner = node(st.deferred(lambda: leaf), rare=rare)
    return node(st.deferred(lambda: st.one_of(leaf, inner)), rare=rare)


common_documents, rare_documents = nested(rare=False), nested(rare=True)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document = draw(rare_documents if draw(st.integers(0, 4)) == 0 else common_documents)
    if draw(st.integers(0, 3)) == 0:  # the same blank subtree twice: equal first-degree hashes, pyld's algorithm
        twin = {key: value for key, value in draw(node()).items() if key != "id"}
        document["child"] = [twin, copy.deepcopy(twin)]
    return {"@context": CONTEXT, **document}


def test_repeated_values_and_nodes_are_merged_as_pyld_merges_them() -> None:
    """pyld keeps one of two equal values (1 and 1.0 are equal, True and 1 are not) and merges nodes by id."""
    profile = {"id": f"{EX}a", "type": ["Thing"], "name": ["Ann", 1, True]}
    document = {
        "@context": CONTEXT,
        "id": "urn:uuid:1",
        "name": [1, 1.0, True, "1", False, 0, 0.0, -0.0, 2.5, 2.50, {"@value": "1", "@type": f"{XSD}integer"}],
        "title": ["a", "a", {"@value": "a", "@language": "EN"}],
        "child": [profile, {**profile, "type": ["Other", "Thing"], "name": ["Ann", 1.0, "Bo"]}, {"id": "_:x"},
                  {"id": "_:x", "name": "y"}],
        "link": [f"{EX}a", "_:x", f"{EX}a"],
    }
    lines = assert_same_as_reference(document).splitlines()
    assert len(lines) == 19
    # 1 and {"@value": "1", "@type": xsd:integer} differ as JSON-LD values but are one literal: pyld writes it twice
    assert lines.count(f'<urn:uuid:1> <{EX}name> "1"^^<{XSD}integer> .') == 2
    assert path_taken(document) == "direct"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(document=documents())
def test_generated_documents_canonicalize_as_before(document: dict[str, Any]) -> None:
    assert_same_as_reference(document)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # make_credential is pure
@given(narratives=st.lists(text.filter(lambda value: value.strip() != ""), min_size=1, max_size=4),
       name=text.filter(lambda value: value.strip() != ""), repeat=st.booleans())
def test_generated_level_credentials_canonicalize_as_before(
    make_credential: Callable[..., dict[str, Any]], narratives: list[str], name: str, repeat: bool
) -> None:
    evidence = [{"type": ["Evidence"], "narrative": narrative} for narrative in narratives]
    credential = make_credential(name=name, evidence=evidence + evidence[:1] if repeat else evidence)
    assert_same_as_reference(credential, document_loader)


# --- the pieces on their own -----------------------------------------------------------------------------------


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_doubles_are_written_as_pyld_writes_them(value: float) -> None:
    assert _xsd_double(value) == jsonld._canonicalize_double(value)


@st.composite
def datasets(draw: st.DrawFn) -> rdfc.Dataset:
    """Small pyld datasets with a few blank nodes, often alike, and literals of every kind, in up to two graphs."""
    blanks = [f"_:b{i}" for i in range(draw(st.integers(1, 5)))]
    resources = st.one_of(st.sampled_from(blanks).map(lambda b: {"type": "blank node", "value": b}),
                          st.sampled_from([f"{EX}a", f"{EX}b"]).map(lambda v: {"type": "IRI", "value": v}))
    literals = st.one_of(
        st.builds(lambda v: {"type": "literal", "value": v, "datatype": f"{XSD}string"}, text),
        st.builds(lambda v, lang: {"type": "literal", "value": v, "datatype": rdfc._RDF_LANGSTRING, "language": lang},
                  text, st.sampled_from(["en", "de", ""])),
        st.builds(lambda v: {"type": "literal", "value": v, "datatype": f"{XSD}integer"}, st.sampled_from(["1", "2"])),
    )
    triples = st.builds(
        lambda s, p, o: {"subject": s, "predicate": {"type": "IRI", "value": p}, "object": o},
        resources, st.sampled_from([f"{EX}p", f"{EX}q"]), st.one_of(resources, literals),
    )
    dataset = {"@default": draw(st.lists(triples, min_size=1, max_size=10))}
    if draw(st.booleans()):
        dataset[draw(st.sampled_from([f"{EX}g", "_:g"]))] = draw(st.lists(triples, min_size=1, max_size=4))
    return dataset


@settings(max_examples=300, deadline=None)
@given(dataset=datasets())
def test_generated_datasets_canonicalize_as_pyld_does(dataset: rdfc.Dataset) -> None:
    expected = outcome(lambda: rdfc.pyld_canonical_nquads(copy.deepcopy(dataset)))
    assert outcome(lambda: rdfc.canonical_nquads(copy.deepcopy(dataset))) == expected


def test_a_dataset_the_direct_path_does_not_model_goes_to_pyld() -> None:
    quad = {"subject": {"type": "blank node", "value": "_:c14n5"}, "predicate": {"type": "IRI", "value": f"{EX}p"},
            "object": {"type": "literal", "value": "x", "datatype": f"{XSD}string"}}
    assert rdfc._quads({"@default": [quad]}) is None  # pyld leaves _:c14n labels as they are
    expected = rdfc.pyld_canonical_nquads({"@default": [copy.deepcopy(quad)]})
    assert rdfc.canonical_nquads({"@default": [quad]}) == expected
