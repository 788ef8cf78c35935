"""Revocation and suspension through Bitstring Status Lists."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from issuer.credentials import status_list as bsl
from issuer.errors import Conflict
from issuer.extensions import db
from issuer.issuance import revocation
from issuer.models import AuditEvent, Credential, StatusEntry, StatusList
from issuer.status_lists import lists as status_lists
from issuer.verification import status_check as verification_status_check
from tests.conftest import AuthActions
from tests.integration.helpers import issue, seed_people


@pytest.fixture
def issued(people: dict[str, int], issued: uuid.UUID) -> tuple[dict[str, int], uuid.UUID]:
    """The shared people and credential, as a pair."""
    return people, issued


def verify_api(client: FlaskClient, credential_id: uuid.UUID, app: Flask) -> dict[str, Any]:
    with app.app_context():
        document = db.session.get(Credential, credential_id).document
    response = client.post("/api/v1/verify", data=document, content_type="application/json")
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    return answer


def status_check(result: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["check"] == "status")


def test_fresh_credential_is_active(app: Flask, client: FlaskClient, issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    result = verify_api(client, credential_id, app)
    assert result["verified"] is True
    assert status_check(result)["ok"] is True
    assert "not revoked" in status_check(result)["message"]


def test_revoked_everywhere(app: Flask, client: FlaskClient, auth: AuthActions, runner: FlaskCliRunner,
                            issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    auth.login("sup@example.test")
    response = auth.post(f"/credentials/{credential_id}/revoke", {"reason": "Issued in error.", "confirm": "yes"})
    assert response.status_code == 302
    result = verify_api(client, credential_id, app)
    assert result["verified"] is False
    assert status_check(result) == {"check": "status", "ok": False, "message": "the issuer has revoked this credential"}
    page = client.get(f"/verify/{credential_id}").get_data(as_text=True)
    assert "Revoked on" in page
    assert "Not verified" in page
    with app.app_context():
        document = db.session.get(Credential, credential_id).document
    cli = app.test_cli_runner().invoke(args=["verify", "-"], input=document)
    assert cli.exit_code == 1
    assert "revoked" in cli.output
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(action="credential.revoked")).one()
        assert event.details["reason"] == "Issued in error."


def test_revocation_is_permanent(app: Flask, issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="revoke", reason="Wrong person.", actor=None)
        db.session.commit()
        with pytest.raises(Conflict):
            revocation.change(db.session, credential, action="unsuspend", reason="Undo?", actor=None)


def test_suspend_then_unsuspend_returns_to_active(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                                  issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    suspended = app.test_cli_runner().invoke(
        args=["credentials", "suspend", str(credential_id), "--reason", "Board review."])
    assert suspended.exit_code == 0, suspended.output
    result = verify_api(client, credential_id, app)
    assert result["verified"] is False
    assert status_check(result)["message"] == "the issuer has suspended this credential"
    lifted = app.test_cli_runner().invoke(args=["credentials", "unsuspend", str(credential_id), "--reason", "Cleared."])
    assert lifted.exit_code == 0, lifted.output
    assert verify_api(client, credential_id, app)["verified"] is True


def test_status_list_endpoint_serves_signed_list_with_etag(app: Flask, client: FlaskClient,
                                                           issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    with app.app_context():
        credential = json.loads(db.session.get(Credential, credential_id).document)
    url = credential["credentialStatus"]["statusListCredential"]
    path = url.replace("http://127.0.0.1:5000", "")
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["ETag"]
    assert "max-age=" in response.headers["Cache-Control"]
    assert client.get(path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    document = response.get_json()
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    # A plain gzip + base64url decoder reads the list: 131,072 bits, all clear.
    encoded = document["credentialSubject"]["encodedList"]
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 == 131_072
    assert not any(raw)
    with app.app_context():
        assert verification_status_check.verify_list_credential(db.session, document)


def test_revoking_sets_exactly_the_credentials_bit(app: Flask, client: FlaskClient, issued: tuple[dict[str, int],
                                                   uuid.UUID]) -> None:
    _, credential_id = issued
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        index = int(json.loads(credential.document)["credentialStatus"]["statusListIndex"])
        status = json.loads(credential.document)["credentialStatus"]
        path = status["statusListCredential"].replace("http://127.0.0.1:5000", "")
        etag_before = client.get(path).headers["ETag"]
        revocation.change(db.session, credential, action="revoke", reason="Error.", actor=None)
        db.session.commit()
    response = client.get(path)
    assert response.headers["ETag"] != etag_before
    encoded = response.get_json()["credentialSubject"]["encodedList"]
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    set_bits = [i for i in range(len(raw) * 8) if raw[i // 8] & (0x80 >> (i % 8))]
    assert set_bits == [index]


def test_tampered_status_list_is_rejected(app: Flask, issued: tuple[dict[str, int], uuid.UUID]) -> None:
    # `issued` is asked for its side effect: a credential on the revocation list
    with app.test_request_context():
        status_list = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one()
        status_lists.signed_list(db.session, status_list.public_id)
        assert status_list.signed_document is not None
        document = json.loads(status_list.signed_document)
        bits = bsl.Bitstring.decode(document["credentialSubject"]["encodedList"])
        bits.set(5, True)
        flipped = {**document, "credentialSubject": {**document["credentialSubject"], "encodedList": bits.encode()}}
        assert not verification_status_check.verify_list_credential(db.session, flipped)
        bad_proof = json.loads(json.dumps(document))
        value = bad_proof["proof"][0]["proofValue"]
        bad_proof["proof"][0]["proofValue"] = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
        assert not verification_status_check.verify_list_credential(db.session, bad_proof)
        assert verification_status_check.verify_list_credential(db.session, document)


def test_index_out_of_range_is_an_error(app: Flask, issued: tuple[dict[str, int], uuid.UUID]) -> None:
    _, credential_id = issued
    with app.test_request_context():
        credential = json.loads(db.session.get(Credential, credential_id).document)
        credential["credentialStatus"]["statusListIndex"] = str(131_072 + 5)
        check = verification_status_check.checker(db.session)(credential)
        assert check.ok is False
        assert "outside the list" in check.message


def test_indexes_are_random_and_unique(app: Flask) -> None:
    people = seed_people(app)
    ids = [issue(app, people, level) for level in range(4)]
    with app.app_context():
        entries = db.session.scalars(select(StatusEntry)).all()
        assert len(entries) == 8
        assert len({(e.list_id, e.index) for e in entries}) == 8
        revocation_indexes = [e.index for e in entries if e.purpose == "revocation"]
        # Random positions, not issue order: four draws from 131,072 land within 1,000 of each other
        # about twice in a million runs; sequential allocation (from 0 or from any start) always does.
        assert max(revocation_indexes) - min(revocation_indexes) > 1000
        assert len(set(ids)) == 4


def test_cached_verification_sees_a_revocation_at_once(app: Flask, client: FlaskClient, issued: tuple[dict[str, int],
                                                       uuid.UUID]) -> None:
    _, credential_id = issued
    assert verify_api(client, credential_id, app)["verified"] is True
    assert verify_api(client, credential_id, app)["verified"] is True  # served from the cache
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="revoke", reason="Error.", actor=None)
        db.session.commit()
    assert verify_api(client, credential_id, app)["verified"] is False
