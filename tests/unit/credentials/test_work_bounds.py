"""Work bounds (issue 14): poison JSON-LD is refused by count, before the work, as a named error; genuine
credentials are far inside every bound. Nothing here is timed (benchmarks/poison.py measures the CPU)."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import pytest

from credentials_support import NOW, VALIDATOR, load_json
from issuer.credentials import KeyResolver, TooComplexError, document_loader, rdfc, verify
from issuer.credentials.errors import CanonicalizationError

canonicalize_module = sys.modules["issuer.credentials.canonicalize"]
canonicalize = canonicalize_module.canonicalize
EX = "https://example.org/ns#"


def _base() -> dict[str, Any]:
    document: dict[str, Any] = load_json(VALIDATOR / "ob30" / "simple.json")
    del document["proof"]
    return document


def clique(size: int) -> dict[str, Any]:
    """Blank nodes all linked to each other: every one alike, every permutation worth trying."""
    return {**_base(), EX + "nodes": [
        {"@id": f"_:n{i}", EX + "link": [{"@id": f"_:n{j}"} for j in range(size) if j != i]} for i in range(size)
    ]}


def equal_list(size: int) -> dict[str, Any]:
    """An @list of equal blank nodes: a chain of alike list nodes."""
    return {**_base(), EX + "items": {"@list": [{EX + "v": "x"} for _ in range(size)]}}


def equal_nodes(size: int) -> dict[str, Any]:
    return {**_base(), EX + "items": [{EX + "v": "x"} for _ in range(size)]}


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


class Recorder:
    """Wraps rdfc's bounded RDFC-1.0 to read its counters after a run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[Any] = []
        recorder = self

        class Recording(rdfc._BoundedURDNA2015):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                recorder.runs.append(self)

        monkeypatch.setattr(rdfc, "_BoundedURDNA2015", Recording)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    return Recorder(monkeypatch)


def _refused(document: dict[str, Any]) -> TooComplexError:
    with pytest.raises(TooComplexError) as caught:
        canonicalize(document, document_loader=document_loader)
    assert isinstance(caught.value, CanonicalizationError)  # callers catching the old error still catch it
    assert "work limit" in str(caught.value)
    return caught.value


def test_a_six_node_clique_is_refused_by_the_n_degree_bounds(recorder: Recorder) -> None:
    error = _refused(clique(6))
    assert error.limit in ("n_degree_calls", "n_degree_work")
    (run,) = recorder.runs
    assert run.calls <= rdfc.MAX_N_DEGREE_CALLS + 1
    assert run.work <= rdfc.MAX_RDFC_WORK + max(run.work - run.budget, 0)  # charged up front, refused at once


def test_the_n_degree_call_bound_is_counted(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    canonicalize(clique(4), document_loader=document_loader)
    needed = recorder.runs[-1].calls
    assert needed > 0
    monkeypatch.setattr(rdfc, "MAX_N_DEGREE_CALLS", needed - 1)
    assert _refused(clique(4)).limit == "n_degree_calls"
    assert recorder.runs[-1].calls == needed  # the call over the bound is refused before it does any work


def test_the_n_degree_work_bound_is_charged_before_the_work(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    canonicalize(clique(4), document_loader=document_loader)
    needed = recorder.runs[-1].work
    monkeypatch.setattr(rdfc, "MAX_RDFC_WORK", needed - 1)
    assert _refused(clique(4)).limit == "n_degree_work"


@pytest.mark.parametrize("make", [equal_list, equal_nodes])
def test_three_hundred_equal_nodes_are_refused_before_pyld(make: Callable[[int], dict[str, Any]],
                                                          recorder: Recorder) -> None:
    error = _refused(make(300))
    assert error.limit == "alike_blank_nodes"
    assert recorder.runs == []  # refused on first-degree hashes, pyld's algorithm never started


def test_a_few_equal_nodes_are_still_canonicalized() -> None:
    assert "_:c14n" in canonicalize(equal_nodes(10), document_loader=document_loader)


@pytest.mark.parametrize(
    ("document", "limit"),
    [
        ({**_base(), EX + "many": [{EX + "v": str(i)} for i in range(canonicalize_module.MAX_JSONLD_OBJECTS)]},
         "jsonld_objects"),
        ({**_base(), EX + "many": list(range(canonicalize_module.MAX_JSONLD_VALUES))}, "jsonld_values"),
        ({**_base(), EX + "deep": _nested(canonicalize_module.MAX_JSONLD_DEPTH)}, "jsonld_depth"),
        ({**_base(), "@context": [*_base()["@context"], {
            f"t{i}": f"{EX}t{i}" for i in range(canonicalize_module.MAX_INLINE_CONTEXT_TERMS + 1)}]},
         "inline_context_terms"),
        ({**_base(), "evidence": [{"@context": {f"t{i}": f"{EX}t{i}" for i in range(10)}, "type": ["Evidence"]}
                                  for _ in range(canonicalize_module.MAX_INLINE_CONTEXT_TERMS // 10 + 1)]},
         "inline_context_terms"),
    ],
)
def test_expansion_bounds_are_checked_before_expansion(document: dict[str, Any], limit: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def no_expansion(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("expanded")

    monkeypatch.setattr(canonicalize_module._SafeProcessor, "expand", no_expansion)
    assert _refused(document).limit == limit


def test_rdfc_size_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rdfc, "MAX_QUADS", 10)
    assert _refused(_base()).limit == "quads"
    monkeypatch.setattr(rdfc, "MAX_QUADS", 10_000)
    monkeypatch.setattr(rdfc, "MAX_BLANK_NODES", 0)  # simple.json has one blank node (its criteria)
    assert _refused(_base()).limit == "blank_nodes"


def test_verify_reports_poison_as_a_failed_check_not_a_crash() -> None:
    result = verify(clique(7), document_loader=document_loader, resolver=KeyResolver(), now=NOW)
    assert not result.verified
    context = result.check("context")
    assert context is not None
    assert context.ok is False
    assert context.message.startswith("too complex to check: RDFC-1.0 canonicalization refused")


@pytest.mark.parametrize("sample", ["ob30/complete.json", "clr20/complex.json"])
def test_genuine_credentials_are_far_inside_every_bound(sample: str, recorder: Recorder) -> None:
    document = load_json(VALIDATOR / sample)
    canonical = canonicalize(document, document_loader=document_loader)
    quads = canonical.count("\n")
    assert quads * 20 < rdfc.MAX_QUADS
    blank = {token for line in canonical.splitlines() for token in line.split() if token.startswith("_:")}
    assert len(blank) * 20 < rdfc.MAX_BLANK_NODES
    for run in recorder.runs:  # only samples with alike blank nodes reach pyld's N-degree phase
        assert run.calls * 10 < rdfc.MAX_N_DEGREE_CALLS
        assert run.work * 4 < rdfc.MAX_RDFC_WORK


def test_our_level_credential_never_reaches_the_n_degree_phase(make_credential: Callable[..., dict[str, Any]],
                                                               recorder: Recorder) -> None:
    canonicalize(make_credential(), document_loader=document_loader)
    assert recorder.runs == []


def test_the_cheap_issuer_copy_is_a_full_copy() -> None:
    issuer = rdfc._CopyingIssuer("_:b")
    issuer.get_id("_:x")
    twin = copy.deepcopy(issuer)
    twin.get_id("_:y")
    assert issuer.order == ["_:x"]
    assert twin.order == ["_:x", "_:y"]
    assert issuer.existing == {"_:x": "_:b0"}
    assert twin.counter == 2
    assert issuer.counter == 1
