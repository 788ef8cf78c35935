"""An attacker's well-formed forgeries, through the public verifiers: none of them is "verified".

Each case is one the trust issue found or names: a did:key issuer named like this service (also baked into a real
badge), look-alike did:web issuer ids, new credentials signed with a retired or a leaked current key of ours, a valid
credential given a second, bogus proof, and a recipient renamed after issuance.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient

from issuer import badges
from issuer.credentials import eddsa_rdfc_2022
from issuer.credentials.loader import document_loader
from issuer.credentials.multikey import did_key_verification_method
from issuer.extensions import db
from issuer.identity import keystore
from issuer.identity.did_web import verification_method
from issuer.models import Credential, User, utcnow
from issuer.protocols import obapi

OUR_DID = "did:web:127.0.0.1%3A5000"


def document_of(app: Flask, credential_id: uuid.UUID) -> dict[str, Any]:
    with app.app_context():
        document: dict[str, Any] = json.loads(db.session.get_one(Credential, credential_id).document)
        return document


def unsigned_copy(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    unsigned = {k: v for k, v in copy.deepcopy(document).items() if k != "proof"}
    unsigned.update(changes)
    return unsigned


def sign(document: dict[str, Any], key: Any, method: str) -> dict[str, Any]:
    return eddsa_rdfc_2022.sign(document, private_key=key, verification_method=method, created=utcnow(),
                                document_loader=document_loader)


def api(client: FlaskClient, body: bytes | str | dict[str, Any], content_type: str = "application/json") -> Any:
    data = json.dumps(body) if isinstance(body, dict) else body
    response = client.post("/api/v1/verify", data=data, content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def failed(result: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["message"] for c in result["checks"] if c["ok"] is False}


def did_key_forgery(app: Flask, issued: uuid.UUID) -> tuple[dict[str, Any], str]:
    """Our Emerging credential renamed "Advanced", issued by a did:key that calls itself by our name."""
    key = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(key.public_key())
    did = method.split("#", 1)[0]
    original = document_of(app, issued)
    issuer = {**original["issuer"], "id": did}  # the name stays "Clinical Competency Credentials"
    forged = unsigned_copy(original, issuer=issuer, name="Music Therapists: Advanced",
                           id=f"urn:uuid:{uuid.uuid4()}")
    return sign(forged, key, method), did


def test_a_did_key_issuer_named_like_this_service_is_not_recognised(app: Flask, client: FlaskClient,
                                                                   issued: uuid.UUID) -> None:
    forged, did = did_key_forgery(app, issued)
    result = api(client, forged)
    assert result["verified"] is False
    assert failed(result) == {"issuer": f"Issuer not recognised: {did}"}  # the proof itself holds


def test_the_same_forgery_baked_into_a_real_badge_is_not_verified(app: Flask, client: FlaskClient,
                                                                  issued: uuid.UUID, auth: Any) -> None:
    forged, did = did_key_forgery(app, issued)
    genuine_png = client.get(f"/credentials/{issued}.png").get_data()
    baked = badges.bake_png(genuine_png, json.dumps(forged))  # replaces the genuine credential inside
    result = api(client, baked, "image/png")
    assert result["verified"] is False
    assert failed(result)["issuer"] == f"Issuer not recognised: {did}"
    html = auth.post("/verify", {"credential": json.dumps(forged)}).get_data(as_text=True)
    assert "✓ Verified" not in html
    assert "Not verified" in html
    assert "by Clinical Competency Credentials" not in html, "the forgery's own issuer name is never shown as fact"


@pytest.mark.parametrize("issuer_id", [
    "did:web:127.0.0.1%3a5000",  # the same host, percent-encoding in lower case
    f"{OUR_DID}:evil",  # a sub-path of ours
    "http://127.0.0.1:5000",  # our origin as a URL
])
def test_look_alike_issuer_ids_signed_with_our_real_key_are_refused(app: Flask, client: FlaskClient,
                                                                    issued: uuid.UUID, issuer_id: str) -> None:
    """Even with our own current key (as a thief would have it), a look-alike issuer id is another issuer."""
    original = document_of(app, issued)
    with app.test_request_context():
        key = keystore.signing_key(db.session, keystore.ED25519)
        method = verification_method(key.kid)
    forged = sign(unsigned_copy(original, issuer={**original["issuer"], "id": issuer_id},
                                id=f"urn:uuid:{uuid.uuid4()}"), key.private_key, method)
    result = api(client, forged)
    assert result["verified"] is False
    assert "does not match issuer" in failed(result)["proof"]
    assert failed(result)["issuer"] == f"Issuer not recognised: {issuer_id}"


@pytest.mark.parametrize("which", ["retired", "current"])
def test_a_new_credential_signed_with_a_retired_or_leaked_key_is_not_issued_by_this_service(
        app: Flask, client: FlaskClient, issued: uuid.UUID, which: str) -> None:
    original = document_of(app, issued)
    with app.test_request_context():
        key = keystore.signing_key(db.session, keystore.ED25519)  # the key that signed `issued`
        if which == "retired":
            keystore.rotate(db.session)
            db.session.commit()
        method = verification_method(key.kid)
    minted = sign(unsigned_copy(original, id=f"http://127.0.0.1:5000/credentials/{uuid.uuid4()}",
                                name="Music Therapists: Advanced"), key.private_key, method)
    result = api(client, minted)
    assert result["verified"] is False
    assert [c["check"] for c in result["checks"]] == ["format", "issuer"]
    assert failed(result)["issuer"].startswith(f"Not issued by this service: {OUR_DID}")
    assert api(client, original)["verified"] is True, "what we did issue still verifies"


def test_a_second_bogus_proof_on_our_credential_is_refused(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    original = document_of(app, issued)
    bogus = {**original["proof"][0], "proofValue": "z" + "1" * 86}
    result = api(client, {**original, "proof": [*original["proof"], bogus]})
    assert result["verified"] is False
    assert failed(result)["issuer"].startswith("Not issued by this service")


def test_a_profile_rename_never_changes_what_a_credential_says(app: Flask, client: FlaskClient,
                                                               issued: uuid.UUID, people: dict[str, int]) -> None:
    with app.app_context():
        therapist = db.session.get_one(User, people["therapist"])
        obapi.update_profile(therapist, {"type": ["Profile"], "name": "Somebody Else"})
        db.session.commit()
    verify_page = client.get(f"/verify/{issued}").get_data(as_text=True)
    credential_page = client.get(f"/credentials/{issued}").get_data(as_text=True)
    certificate = client.get(f"/credentials/{issued}/certificate").get_data(as_text=True)
    for html in (verify_page, credential_page, certificate):
        assert "Taylor Therapist" in html
        assert "Somebody Else" not in html
