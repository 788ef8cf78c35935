"""Why a verification failed, in plain words: the most fundamental failure heads, never the document's own words."""

from __future__ import annotations

import pytest

from issuer.verification.results import CheckView, Verification, explain

OK = {name: CheckView(name, True, "fine") for name in ("format", "schema", "context", "proof", "issuer", "validity",
                                                         "status")}


def verification(*failed: CheckView, name: str = "Forged Title", valid_until: str | None = None) -> Verification:
    checks = {**OK, **{c.name: c for c in failed}}
    return Verification(verified=not failed, readable=checks["format"].ok is not False, checks=list(checks.values()),
                        name=name, valid_until=valid_until)


@pytest.mark.parametrize(("failed", "headline"), [
    ([CheckView("format", False, "not JSON")], "This is not a credential we can read"),
    ([CheckView("issuer", False, "Not issued by this service: did:web:x never issued a credential")],
     "This credential has been altered since it was issued, or was never issued here"),
    ([CheckView("proof", False, "signed with key k1, which was revoked on 2026-01-01 after a compromise")],
     "It was signed with a key the issuer has withdrawn"),
    ([CheckView("proof", False, "1 proof did not verify")], "This credential has been altered since it was issued"),
    ([CheckView("issuer", False, "Issuer not recognised: did:key:z6Mk")],
     "Not issued by this service or a recognised issuer"),
    ([CheckView("schema", False, "does not conform")], "This is not a well-formed Open Badges credential"),
    ([CheckView("status", False, "the issuer has revoked this credential")], "The issuer has revoked this credential"),
    ([CheckView("status", False, "the issuer has suspended this credential")],
     "The issuer has suspended this credential"),
    ([CheckView("validity", False, "not yet valid: validFrom is 2999-01-01T00:00:00Z")],
     "This credential is not valid yet, or its dates cannot be read"),
    # The signature outranks what follows from it: a broken proof heads, not the status it claims.
    ([CheckView("proof", False, "bad"), CheckView("status", False, "the issuer has revoked this credential")],
     "This credential has been altered since it was issued"),
])
def test_the_headline_names_what_failed(failed: list[CheckView], headline: str) -> None:
    found = explain(verification(*failed))
    assert found is not None
    assert found.headline == headline
    assert "Forged Title" not in found.headline + found.next_step
    assert found.next_step


def test_an_expired_credential_heads_with_its_readable_date() -> None:
    found = explain(verification(CheckView("validity", False, "Expired on 2026-03-04 (validUntil was …)"),
                                 valid_until="2026-03-04T10:00:00Z"))
    assert found is not None
    assert found.headline == "This credential expired on 4 March 2026"


def test_a_verified_credential_has_no_failure() -> None:
    assert explain(verification()) is None
