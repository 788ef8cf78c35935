"""OB 3.0 API upsertCredential keeps only what verifies here and names the token's user, in canonical form."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.credentials import eddsa_rdfc_2022
from issuer.credentials.loader import document_loader
from issuer.credentials.multikey import did_key_verification_method
from issuer.extensions import db
from issuer.issuance.signing import serialize
from issuer.models import Credential, utcnow
from issuer.models.oauth import HeldCredential
from tests.conftest import MakeUser
from tests.integration.helpers import issue
from tests.integration.test_obapi import assert_imsx, bearer, get_tokens

API = "/ims/ob/v3p0"


@pytest.fixture
def upload(client: FlaskClient, auth: Any, people: dict[str, int]) -> Any:
    """POST to upsertCredential with the therapist's OAuth token (credential.upsert scope)."""
    _, tokens = get_tokens(client, auth)
    headers = bearer(tokens["access_token"])

    def send(body: str, content_type: str = "application/json") -> Any:
        return client.post(f"{API}/credentials", data=body, content_type=content_type, headers=headers)

    send.headers = headers  # type: ignore[attr-defined]
    return send


def held(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(HeldCredential.content)))


def stored_document(app: Flask, credential_id: uuid.UUID) -> tuple[str, str]:
    with app.app_context():
        credential = db.session.get(Credential, credential_id)
        return credential.document, credential.jwt


def test_another_therapists_genuine_credential_is_refused(
        app: Flask, people: dict[str, int], make_user: MakeUser, make_assignment: Callable[[int, int], None],
        upload: Any) -> None:
    someone_else = make_user("river@example.test", name="River Other")
    make_assignment(people["supervisor"], someone_else)
    document, jwt = stored_document(app, issue(app, {**people, "therapist": someone_else}))
    for body, content_type in ((document, "application/json"), (jwt, "text/plain")):
        response = upload(body, content_type)
        description = assert_imsx(response, 400)["imsx_description"]
        assert "not yours" in description, description
        assert "e-mail" in description, description
    assert held(app) == []


def test_a_self_signed_did_key_credential_is_refused(app: Flask, people: dict[str, int], upload: Any) -> None:
    """Anyone can sign an "Advanced" credential for the therapist with a did:key: its issuer is not recognised."""
    document, _ = stored_document(app, issue(app, people))
    private = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(private.public_key())
    unsigned = {k: v for k, v in json.loads(document).items() if k != "proof"}
    unsigned["id"] = f"urn:uuid:{uuid.uuid4()}"
    unsigned["name"] = "Advanced Music Therapist"
    unsigned["issuer"] = {**unsigned["issuer"], "id": method.split("#", 1)[0], "name": "Self"}
    unsigned["credentialSubject"]["achievement"]["creator"] = unsigned["issuer"]
    forged = eddsa_rdfc_2022.sign(unsigned, private_key=private, verification_method=method, created=utcnow(),
                                  document_loader=document_loader)
    response = upload(json.dumps(forged))
    description = assert_imsx(response, 400)["imsx_description"]
    assert description.startswith("The credential does not verify:"), description
    assert "recogni" in description, description
    assert held(app) == []


def test_a_body_with_a_doubled_key_is_refused_and_not_kept(app: Flask, people: dict[str, int], upload: Any) -> None:
    document, _ = stored_document(app, issue(app, people))
    doubled = document.replace('"credentialSubject": {', '"credentialSubject": {"id": "did:example:x", "id": "y", ', 1)
    assert doubled != document
    description = assert_imsx(upload(doubled), 400)["imsx_description"]
    assert "duplicate key 'id' in object at /credentialSubject" in description
    assert held(app) == []


def test_the_therapists_own_credential_is_kept_in_canonical_form_and_served_back(
        app: Flask, client: FlaskClient, people: dict[str, int], upload: Any) -> None:
    document, _ = stored_document(app, issue(app, people))
    compact = json.dumps(json.loads(document), separators=(",", ":"))  # the same credential, other bytes
    assert compact != document
    response = upload(compact)
    assert response.status_code == 201, response.get_data(as_text=True)
    canonical = serialize(json.loads(compact))
    assert response.get_data(as_text=True) == canonical
    assert held(app) == [canonical]
    assert upload(document).status_code == 304  # the same credential in other bytes is the same content
    body = client.get(f"{API}/credentials", headers=upload.headers).get_json()
    assert body["credential"] == [json.loads(document), json.loads(compact)]  # issued here, then the one kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HeldCredential)) == 1
