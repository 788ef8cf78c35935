"""Properties of the signing core: whatever text a credential holds, it signs and verifies; any change is caught."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials_support import ISSUER_DID, NOW
from issuer.credentials import (
    KeyResolver,
    SigningError,
    build_achievement_credential,
    document_loader,
    eddsa_rdfc_2022,
    sign,
    verify,
)

VM = f"{ISSUER_DID}#ed-1"
#: Fixed, so that the same inputs give the same signature (Ed25519 is deterministic) and hypothesis can replay.
CREDENTIAL_ID = "urn:uuid:3f2c1e5a-7b9d-4c8e-a1f0-6d5b4a3c2e10"
#: Few examples, no deadline: each one signs and verifies (two RDFC-1.0 canonicalizations apiece).
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: The controls that canonical N-Quads implementations escape differently (refused at signing, tested below).
DISPUTED = "".join(chr(c) for c in range(0x80) if eddsa_rdfc_2022.DISPUTED_CHARACTERS.match(chr(c)))
#: Any Unicode scalar value (no lone surrogates: those are not text), including tab, newlines and the C1 controls,
#: RTL marks, emoji, CJK; not the disputed controls.
unicode_text = st.text(st.characters(codec="utf-8", exclude_characters=DISPUTED),
                       min_size=1, max_size=60)
#: ...and text that is not only whitespace, where the 1EdTech schema wants a real value.
visible_text = unicode_text.filter(lambda text: text.strip() != "")


def build(level_achievement: dict[str, Any], issuer_profile: dict[str, Any], *, name: str, description: str,
          narratives: list[str]) -> dict[str, Any]:
    achievement = {**level_achievement, "name": name, "description": description}
    return build_achievement_credential(
        credential_id=CREDENTIAL_ID,
        issuer=issuer_profile,
        achievement=achievement,
        recipient_email="therapist@example.org",
        salt="c2f1e0d9b8a7",
        recipient_did=None,
        name=name,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=365),
        evidence=[{"type": ["Evidence"], "narrative": narrative} for narrative in narratives],
        results=None,
        credential_status=None,
        awarded_date=NOW - timedelta(days=1),
    )


def signed_credential(unsigned: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    return sign(unsigned, private_key=key, verification_method=VM, created=NOW, document_loader=document_loader)


def verdict(document: Any, resolver: KeyResolver) -> Any:
    return verify(document, document_loader=document_loader, resolver=resolver, now=NOW)


@SETTINGS
@given(name=visible_text, description=visible_text, narratives=st.lists(visible_text, min_size=1, max_size=3))
def test_any_text_signs_and_verifies(level_achievement: dict[str, Any], issuer_profile: dict[str, Any],
                                     ed_key: ed25519.Ed25519PrivateKey, resolver: KeyResolver, name: str,
                                     description: str, narratives: list[str]) -> None:
    signed = signed_credential(build(level_achievement, issuer_profile, name=name, description=description,
                                     narratives=narratives), ed_key)
    for form in (signed, json.dumps(signed, ensure_ascii=False), json.dumps(signed).encode("utf-8")):
        result = verdict(form, resolver)
        assert result.verified, result.errors
    assert signed["credentialSubject"]["achievement"]["name"] == name


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_a_control_character_other_verifiers_would_escape_otherwise_is_refused(
        level_achievement: dict[str, Any], issuer_profile: dict[str, Any], ed_key: ed25519.Ed25519PrivateKey,
        character: str) -> None:
    unsigned = build(level_achievement, issuer_profile, name="Emerging", description="Level",
                     narratives=[f"before{character}after"])
    with pytest.raises(SigningError, match=f"U\\+{ord(character):04X}"):
        signed_credential(unsigned, ed_key)


def test_tab_and_line_breaks_sign_and_verify(level_achievement: dict[str, Any], issuer_profile: dict[str, Any],
                                             ed_key: ed25519.Ed25519PrivateKey, resolver: KeyResolver) -> None:
    """Escaped alike (ECHAR) by pyld and by RDFC-1.0's canonical N-Quads, so they stay allowed."""
    unsigned = build(level_achievement, issuer_profile, name="Emerging", description="Level",
                     narratives=["one\ttwo\r\nthree\n\"four\" \\ five"])
    assert verdict(signed_credential(unsigned, ed_key), resolver).verified


def string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where every string value in a JSON document is (keys are left alone)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in string_paths(item, (*path, index))]
    return []


def replace_at(document: dict[str, Any], path: tuple[Any, ...], text: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = text
    return changed


def mutate(text: str, data: st.DataObject) -> str:
    """One character of ``text`` replaced, inserted or deleted; never the same text."""
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"] if text else ["insert"]), label="kind")
    index = data.draw(st.integers(0, len(text) - (0 if kind == "insert" else 1)), label="index")
    if kind == "delete":
        return text[:index] + text[index + 1:]
    char = data.draw(st.characters(codec="utf-8").filter(
        lambda c: kind == "insert" or c != text[index]), label="char")
    return text[:index] + char + text[index + 1:] if kind == "replace" else text[:index] + char + text[index:]


@SETTINGS
@given(data=st.data())
def test_any_single_change_to_a_string_is_refused(level_achievement: dict[str, Any], issuer_profile: dict[str, Any],
                                                 ed_key: ed25519.Ed25519PrivateKey, resolver: KeyResolver,
                                                 data: st.DataObject) -> None:
    signed = signed_credential(build(level_achievement, issuer_profile, name="Music Therapists: Emerging",
                                     description="The Emerging level.", narratives=["Observed in ten sessions."]),
                               ed_key)
    path = data.draw(st.sampled_from(string_paths(signed)), label="path")
    original: Any = signed
    for step in path:
        original = original[step]
    changed = mutate(original, data)
    if changed == original:  # inserting a character can never give the same text, nor can replace/delete above
        return
    result = verdict(replace_at(signed, path, changed), resolver)
    assert not result.verified, (path, changed)
    assert result.errors


@SETTINGS
@given(data=st.data())
def test_any_single_change_to_the_proof_value_is_refused(level_achievement: dict[str, Any],
                                                        issuer_profile: dict[str, Any],
                                                        ed_key: ed25519.Ed25519PrivateKey, resolver: KeyResolver,
                                                        data: st.DataObject) -> None:
    signed = signed_credential(build(level_achievement, issuer_profile, name="Music Therapists: Emerging",
                                     description="The Emerging level.", narratives=["Observed."]), ed_key)
    proof_value = signed["proof"][0]["proofValue"]
    index = data.draw(st.integers(0, len(proof_value) - 1), label="index")
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # base58btc: the realistic forgeries
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != proof_value[index]), label="char")
    forged = copy.deepcopy(signed)
    forged["proof"][0]["proofValue"] = proof_value[:index] + char + proof_value[index + 1:]
    result = verdict(forged, resolver)
    assert not result.verified
    proof = result.check("proof")
    assert proof is not None
    assert proof.ok is False


@SETTINGS
@given(seed=st.randoms(use_true_random=False))
def test_member_order_does_not_matter(level_achievement: dict[str, Any], issuer_profile: dict[str, Any],
                                      ed_key: ed25519.Ed25519PrivateKey, resolver: KeyResolver, seed: Any) -> None:
    """RDF has no member order: a credential re-serialized with its members shuffled still verifies."""
    signed = signed_credential(build(level_achievement, issuer_profile, name="Music Therapists: Emerging",
                                     description="The Emerging level.", narratives=["Observed."]), ed_key)

    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            seed.shuffle(items)
            return {key: shuffled(item) for key, item in items}
        if isinstance(value, list):
            return [shuffled(item) for item in value]
        return value

    result = verdict(shuffled(signed), resolver)
    assert result.verified, result.errors
