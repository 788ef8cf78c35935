"""The W3C VC-API endpoints."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.accounts import api_tokens
from issuer.extensions import db
from issuer.models import Credential, User


@pytest.fixture
def world(app: Flask, people: dict[str, int], issued: uuid.UUID) -> dict[str, Any]:
    credential_id = issued
    with app.app_context():
        admin = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people["admin"]), name="a").secret
        supervisor = db.session.get_one(User, people["supervisor"])
        sup = api_tokens.create_api_token(db.session, user=supervisor, name="s").secret
        document = json.loads(db.session.get(Credential, credential_id).document)
        db.session.commit()
    return {"admin": admin, "supervisor": sup, "document": document}


def test_verify_answers_in_vc_api_shape(client: FlaskClient, world: dict[str, Any]) -> None:
    ok = client.post("/credentials/verify", json={"verifiableCredential": world["document"], "options": {}})
    assert ok.status_code == 200
    body = ok.get_json()
    assert "proof" in body["checks"]
    assert body["errors"] == []
    tampered = {**world["document"], "name": "Something else"}
    bad = client.post("/credentials/verify", json={"verifiableCredential": tampered})
    assert bad.status_code == 400
    assert any(e.startswith("issuer: Not issued by this service") for e in bad.get_json()["errors"])
    assert client.post("/credentials/verify", json={"nothing": 1}).status_code == 400


def test_issue_needs_an_admin_token_and_signs(client: FlaskClient, world: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in world["document"].items() if k not in ("proof", "credentialStatus")}
    unsigned["id"] = "urn:uuid:6c4f1d3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f"
    assert client.post("/credentials/issue", json={"credential": unsigned}).status_code == 401
    refused = client.post("/credentials/issue", json={"credential": unsigned},
                          headers={"Authorization": f"Bearer {world['supervisor']}"})
    assert refused.status_code == 403
    issued = client.post("/credentials/issue", json={"credential": unsigned},
                         headers={"Authorization": f"Bearer {world['admin']}"})
    assert issued.status_code == 201, issued.get_json()
    signed = issued.get_json()["verifiableCredential"]
    assert signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    again = client.post("/credentials/verify", json={"verifiableCredential": signed})
    assert again.status_code == 200, "what this service issues is on its record"
    twice = client.post("/credentials/issue", json={"credential": unsigned},
                        headers={"Authorization": f"Bearer {world['admin']}"})
    assert twice.status_code == 409
    assert "was issued already" in twice.get_json()["message"]
    without_id = {k: v for k, v in unsigned.items() if k != "id"}
    made = client.post("/credentials/issue", json={"credential": without_id},
                       headers={"Authorization": f"Bearer {world['admin']}"})
    assert made.status_code == 201
    assert made.get_json()["verifiableCredential"]["id"].startswith("urn:uuid:")


def test_issue_refuses_undefined_terms_and_other_issuers(client: FlaskClient, world: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in world["document"].items() if k not in ("proof", "credentialStatus")}
    headers = {"Authorization": f"Bearer {world['admin']}"}
    sneaky = client.post("/credentials/issue", json={"credential": {**unsigned, "sneaky": "x"}}, headers=headers)
    assert sneaky.status_code == 400
    assert "sneaky" in sneaky.get_json()["message"]
    other = client.post("/credentials/issue", json={"credential": {**unsigned, "issuer": "did:web:evil.example"}},
                        headers=headers)
    assert other.status_code == 400
    assert "issues only as" in other.get_json()["message"]


@pytest.mark.parametrize("subject", [
    "absent", {"type": ["AchievementSubject"]}, [], "urn:uuid:6c4f1d3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f", {"id": ""}])
def test_issue_refuses_a_credential_that_names_no_subject(client: FlaskClient, world: dict[str, Any],
                                                          subject: Any) -> None:
    """Every credential this service signs names its subject: the VC-JWT's sub (OB 3.0 section 8.2.4.1)."""
    unsigned = {k: v for k, v in world["document"].items() if k not in ("proof", "credentialStatus", "id")}
    if subject == "absent":
        del unsigned["credentialSubject"]
    elif isinstance(subject, dict) and "type" in subject:
        unsigned["credentialSubject"] = {k: v for k, v in unsigned["credentialSubject"].items() if k != "id"}
    else:
        unsigned["credentialSubject"] = subject
    refused = client.post("/credentials/issue", json={"credential": unsigned},
                          headers={"Authorization": f"Bearer {world['admin']}"})
    assert refused.status_code == 400
    assert "credentialSubject.id is required" in refused.get_json()["message"]
