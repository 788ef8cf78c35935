"""The recipient check against OB 3.0 IdentityObjects: hashed with a salt, without one, in clear, and hostile ones."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from issuer.credentials.credential import identity_hash
from issuer.errors import InvalidInput
from issuer.verification import recipient

EMAIL = "taylor@example.test"


def credential(*identities: Any, subject: Any = None) -> dict[str, Any]:
    if subject is None:
        subject = {"type": ["AchievementSubject"], "identifier": list(identities)}
    return {"credentialSubject": subject}


def hashed(email: str = EMAIL, salt: str | None = "s4lt") -> dict[str, Any]:
    identity: dict[str, Any] = {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True}
    if salt is None:
        identity["identityHash"] = "sha256$" + hashlib.sha256(email.encode()).hexdigest()
    else:
        identity["identityHash"], identity["salt"] = identity_hash(email, salt), salt
    return identity


def test_the_issuance_hash_matches_and_another_address_does_not() -> None:
    assert recipient.check(credential(hashed()), EMAIL).outcome == "match"
    assert recipient.check(credential(hashed()), "other@example.test").outcome == "no-match"


def test_addresses_are_normalised_as_at_issuance() -> None:
    assert recipient.read_email("  Taylor@Example.TEST ") == EMAIL
    assert recipient.check(credential(hashed()), recipient.read_email("TAYLOR@example.test")).matched


def test_a_missing_salt_means_an_unsalted_hash() -> None:
    assert recipient.check(credential(hashed(salt=None)), EMAIL).matched
    assert not recipient.check(credential(hashed(salt=None)), "x@example.test").matched


def test_an_upper_case_hex_digest_and_algorithm_still_match() -> None:
    identity = hashed()
    identity["identityHash"] = "SHA256$" + identity["identityHash"].split("$")[1].upper()
    assert recipient.check(credential(identity), EMAIL).matched


def test_an_address_in_clear_is_compared_normalised() -> None:
    clear = {"type": "IdentityObject", "identityType": "emailAddress", "hashed": False,
             "identityHash": "Taylor@Example.test"}
    assert recipient.check(credential(clear), EMAIL).matched


@pytest.mark.parametrize("identity", [
    {"identityType": "emailAddress", "hashed": True, "identityHash": 12345, "salt": "s"},
    {"identityType": "emailAddress", "hashed": True, "identityHash": ["sha256$00"], "salt": "s"},
    {"identityType": "emailAddress", "hashed": True, "identityHash": identity_hash(EMAIL, "s"), "salt": 7},
    {"identityType": "emailAddress", "hashed": True, "identityHash": identity_hash(EMAIL, "s"), "salt": {"a": 1}},
    {"identityType": "emailAddress", "hashed": True, "identityHash": "md5$" + "0" * 32, "salt": "s"},
    {"identityType": "emailAddress", "hashed": True, "identityHash": "sha256$", "salt": "s"},
    {"identityType": "emailAddress", "hashed": True, "identityHash": "sha256$" + "a" * 100_000, "salt": "s"},
    {"identityType": "emailAddress", "hashed": True, "identityHash": identity_hash(EMAIL, "s"), "salt": "s" * 100_000},
])
def test_identities_of_the_wrong_type_or_form_are_unknown_never_a_match(identity: dict[str, Any]) -> None:
    answer = recipient.check(credential(identity), EMAIL)
    assert answer.outcome == "unknown"
    assert "cannot be checked" in answer.message


@pytest.mark.parametrize("document", [
    None, [], "text", {"credentialSubject": "x"}, {"credentialSubject": {"identifier": "x"}},
    {"credentialSubject": {"identifier": [None, 1, "a", {"identityType": "name", "identityHash": EMAIL}]}},
])
def test_a_credential_without_an_email_identity_says_so(document: Any) -> None:
    answer = recipient.check(document, EMAIL)
    assert answer.outcome == "unknown"
    assert "does not identify its recipient by e-mail" in answer.message


def test_several_subjects_and_identities_are_each_looked_at_within_a_bound() -> None:
    many = [hashed("someone@example.test", f"s{n}") for n in range(recipient.MAX_IDENTIFIERS - 1)]
    assert recipient.check(credential(*many, hashed()), EMAIL).matched
    beyond = [hashed("someone@example.test", f"s{n}") for n in range(recipient.MAX_IDENTIFIERS)]
    assert not recipient.check(credential(*beyond, hashed()), EMAIL).matched
    subjects = [{"identifier": [hashed("x@example.test")]}, {"identifier": [hashed()]}]
    assert recipient.check(credential(subject=subjects), EMAIL).matched


@pytest.mark.parametrize(("value", "message"), [
    (None, "Type the candidate's e-mail address."), ("", "Type the candidate's e-mail address."),
    (["a@b.c"], "Type the candidate's e-mail address."), (42, "Type the candidate's e-mail address."),
    ("no-at-sign", "not an e-mail address"), ("two@@example.org", "not an e-mail address"),
    ("x" * 321, "at most 320 characters"), ("a@b.c" + " " * 400, "at most 320 characters"),
])
def test_bad_addresses_are_refused_without_repeating_them(value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        recipient.read_email(value)
    if isinstance(value, str) and value.strip():
        assert value.strip() not in refused.value.message
