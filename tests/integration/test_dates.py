"""Validity dates at the edges of what ISO 8601 years can say (0001 and 9999) never make a verifier answer 5xx.

Arithmetic on such dates (a clock skew added to 9999-12-31, one subtracted from 0001-01-01) overflows Python's
datetime; each verifying endpoint must still answer with the validity check's result. The credentials are signed
for real by a partner on the trust list, so the dates are what the verifier judges, not a broken signature.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient

from issuer.credentials import eddsa_rdfc_2022, vc_jwt
from issuer.credentials.loader import document_loader
from issuer.credentials.multikey import did_key_verification_method
from issuer.extensions import db
from issuer.models import Credential, utcnow
from issuer.verification import trust
from tests.conftest import AuthActions

YEAR_1 = "0001-01-01T00:00:00Z"
YEAR_9999 = "9999-12-31T23:59:59Z"

#: name: (validFrom, validUntil or None to leave it out, verifies?)
DATES = {
    "year-1-validFrom": (YEAR_1, None, True),
    "year-9999-validUntil": ("2020-01-01T00:00:00Z", YEAR_9999, True),
    "both-edges": (YEAR_1, YEAR_9999, True),
    "far-future-validFrom": (YEAR_9999, None, False),
}


@pytest.fixture
def sign(app: Flask, issued: uuid.UUID) -> Any:
    """Sign the issued credential again with these dates, as a trusted partner (a did:key), as JSON-LD or VC-JWT."""
    with app.app_context():
        document = json.loads(db.session.get(Credential, issued).document)
    private = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(private.public_key())
    did = method.split("#", 1)[0]
    with app.test_request_context():
        trust.add(db.session, issuer_id=did, name="Partner Clinic")
        db.session.commit()

    def signed(valid_from: str, valid_until: str | None, fmt: str) -> Any:
        unsigned = {k: v for k, v in document.items() if k not in ("proof", "validUntil")}
        unsigned["issuer"] = {**unsigned["issuer"], "id": did, "name": "Partner Clinic"}
        unsigned["credentialSubject"]["achievement"]["creator"] = unsigned["issuer"]
        unsigned["validFrom"] = valid_from
        if valid_until is not None:
            unsigned["validUntil"] = valid_until
        credential = eddsa_rdfc_2022.sign(unsigned, private_key=private, verification_method=method,
                                          created=utcnow(), document_loader=document_loader)
        if fmt == "jwt":
            return vc_jwt.encode(credential, private_key=private, kid=method, algorithm="Ed25519")
        return credential

    return signed


def post(client: FlaskClient, endpoint: str, credential: Any) -> tuple[int, str, bool | None]:
    """(status, body, verified) from one of the three verifying endpoints."""
    text = credential if isinstance(credential, str) else json.dumps(credential)
    if endpoint == "/api/v1/verify":
        response = client.post(endpoint, data=text, content_type="application/json" if text[0] == "{" else "text/plain")
        verified = (response.get_json() or {}).get("verified")
    elif endpoint == "/credentials/verify":
        response = client.post(endpoint, json={"verifiableCredential": credential})
        verified = (response.get_json() or {}).get("verified")
    else:
        auth = AuthActions(client)
        response = client.post("/verify", data={"csrf_token": auth.csrf("/verify"), "credential": text})
        page = response.get_data(as_text=True)
        verified = "Not verified" not in page and "Verified" in page
    return response.status_code, response.get_data(as_text=True), verified


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
@pytest.mark.parametrize("case", list(DATES))
@pytest.mark.parametrize("endpoint", ["/api/v1/verify", "/credentials/verify", "/verify"])
def test_dates_at_the_year_edges_get_the_validity_answer_not_a_5xx(
        client: FlaskClient, sign: Any, endpoint: str, case: str, fmt: str) -> None:
    valid_from, valid_until, verifies = DATES[case]
    status, body, verified = post(client, endpoint, sign(valid_from, valid_until, fmt))
    assert status < 500, body[:800]
    assert "Traceback" not in body
    assert "OverflowError" not in body
    assert verified is verifies, body[:1500]
    if endpoint == "/credentials/verify":
        assert status == (200 if verifies else 400)
    else:
        assert status == 200  # readable: the answer is the checks
    if not verifies:
        assert "validity" in body, body[:1500]
        assert "9999" in body, body[:1500]


@pytest.mark.parametrize("case", list(DATES))
def test_a_tampered_credential_of_ours_with_edge_dates_is_refused_not_a_5xx(
        app: Flask, client: FlaskClient, issued: uuid.UUID, case: str) -> None:
    """The same dates written into this service's own credential after signing: it does not verify, calmly."""
    valid_from, valid_until, _ = DATES[case]
    with app.app_context():
        document = json.loads(db.session.get(Credential, issued).document)
    document["validFrom"] = valid_from
    document.pop("validUntil", None)
    if valid_until is not None:
        document["validUntil"] = valid_until
    for endpoint in ("/api/v1/verify", "/credentials/verify", "/verify"):
        status, body, verified = post(client, endpoint, document)
        assert status in (200, 400), (endpoint, body[:800])
        assert verified is False, (endpoint, body[:800])


EDGE_TIMES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_edge_dates_with_offsets_are_answered_not_a_5xx(
        client: FlaskClient, sign: Any, when: str) -> None:
    """An offset that moves a year-1 or year-9999 time outside the years datetime can hold, in UTC."""
    for fmt in ("ldp", "jwt"):
        credential = sign(when, None, fmt)
        for endpoint in ("/api/v1/verify", "/credentials/verify", "/verify"):
            status, body, verified = post(client, endpoint, credential)
            assert status in (200, 400), (endpoint, fmt, body[:800])
            assert verified is when.startswith("0001"), (endpoint, fmt, body[:1500])


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_ob_api_since_at_the_year_edges_is_answered_not_a_5xx(
        client: FlaskClient, auth: Any, people: dict[str, int], issued: uuid.UUID, when: str) -> None:
    from tests.integration.test_obapi import bearer, get_tokens

    _, tokens = get_tokens(client, auth)
    response = client.get("/ims/ob/v3p0/credentials", query_string={"since": when},
                          headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    expected = 1 if when.startswith("0001") else 0  # everything is after year 1; nothing after year 9999
    assert len(response.get_json()["credential"]) == expected


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_vc_api_issue_with_edge_dates_is_answered_not_a_5xx(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID, when: str) -> None:
    """Issuing through the VC-API with validFrom or validUntil at the year edges: signed, and it verifies."""
    from issuer.accounts import api_tokens
    from issuer.models import User

    with app.app_context():
        document = json.loads(db.session.get(Credential, issued).document)
        token = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people["admin"]), name="t").secret
        db.session.commit()
    unsigned = {k: v for k, v in document.items() if k not in ("proof", "credentialStatus", "id", "validUntil")}
    field = "validFrom" if when.startswith("0001") else "validUntil"
    unsigned[field] = when
    response = client.post("/credentials/issue", json={"credential": unsigned},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_data(as_text=True)[:800]
    signed = response.get_json()["verifiableCredential"]
    assert signed[field] == when
    status, body, verified = post(client, "/api/v1/verify", signed)
    assert status == 200, body[:1500]
    assert verified is True, body[:1500]
