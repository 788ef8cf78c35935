"""The employer's verification page: the answer first (who, what, by whom, when, whether it stands), the checks after,
a recipient check by e-mail that keeps nothing, and failures that say what failed without repeating forged content.
"""

from __future__ import annotations

import copy
import html as html_lib
import json
import logging
import re
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from issuer.credentials import eddsa_rdfc_2022
from issuer.credentials.dates import readable_date
from issuer.credentials.loader import document_loader
from issuer.credentials.multikey import did_key_verification_method
from issuer.extensions import db
from issuer.models import Base, Credential, Level, utcnow
from issuer.verification import trust
from tests.conftest import AuthActions

FORGED = "Music Therapists: Advanced Supreme Clinician"
STRANGER = "someone.else.entirely@example.org"


def h1(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    assert found, html[:800]
    return re.sub(r"\s+", " ", found.group(1)).strip()


def document_of(app: Flask, credential_id: uuid.UUID) -> dict[str, Any]:
    with app.app_context():
        document: dict[str, Any] = json.loads(db.session.get_one(Credential, credential_id).document)
        return document


def paste(client: FlaskClient, text_or_doc: str | dict[str, Any], **extra: Any) -> Any:
    body = text_or_doc if isinstance(text_or_doc, str) else json.dumps(text_or_doc)
    return client.post("/verify", data={"csrf_token": AuthActions(client).csrf("/verify"), "credential": body,
                                        **extra})


def check_email(client: FlaskClient, credential_id: uuid.UUID, data: dict[str, Any] | None = None,
                **kwargs: Any) -> Any:
    form = {"csrf_token": AuthActions(client).csrf("/"), **(data or {})}
    return client.post(f"/verify/{credential_id}/recipient", data=form, **kwargs)


def test_the_card_says_who_what_by_whom_when_and_that_it_stands(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    html = client.get(f"/verify/{issued}").get_data(as_text=True)
    assert h1(html) == "Verified: genuine, current and not revoked"
    with app.app_context():
        row = db.session.get_one(Credential, issued)
        level = db.session.get_one(Level, row.level_id)
        statements = [s.name for s in level.statements]
        badge = f"/badges/{level.achievement_id}.svg"
        issued_on = readable_date(row.issued_at)
    card = html[html.index('class="result-card"'):html.index('class="technical"')]
    for expected in ("Taylor Therapist", "Emerging music therapist — level 1 of 4", "Music Therapists: Emerging",
                     app.config["ISSUER_NAME"], issued_on, "Does not expire", badge, *statements):
        assert expected in card, expected
    assert "What it certifies: 10 competencies" in card
    # The technical checks come after, folded away, under plain titles.
    technical = html[html.index('<details class="technical">'):]
    assert "<summary>Technical checks (" in technical
    assert "Genuine signature</strong> (passed)" in technical
    assert html.index('class="result-card"') < html.index('<details class="technical">')


def test_a_private_credentials_card_names_no_one_but_still_offers_the_recipient_check(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    with app.app_context():
        db.session.get_one(Credential, issued).public = False
        db.session.commit()
    html = client.get(f"/verify/{issued}").get_data(as_text=True)
    assert "Taylor Therapist" not in html
    assert "the holder keeps this credential private" in html
    assert f"/verify/{issued}/recipient" in html
    page = client.get(f"/verify/{issued}/recipient").get_data(as_text=True)
    assert "Taylor Therapist" not in page
    answer = check_email(client, issued, {"email": "ther@example.test"}).get_data(as_text=True)
    assert "Confirmed: this credential was issued to that e-mail address." in answer
    assert "Taylor Therapist" not in answer


@pytest.mark.parametrize("typed", ["ther@example.test", "  THER@Example.TEST  "])
def test_the_recipient_check_confirms_the_candidates_address(
        client: FlaskClient, issued: uuid.UUID, typed: str) -> None:
    form = client.get(f"/verify/{issued}/recipient")
    assert form.status_code == 200
    assert 'name="email"' in form.get_data(as_text=True)
    response = check_email(client, issued, {"email": typed})
    assert response.status_code == 200
    assert "Confirmed: this credential was issued to that e-mail address." in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_recipient_check_denies_another_address(client: FlaskClient, issued: uuid.UUID) -> None:
    response = check_email(client, issued, {"email": STRANGER})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Not confirmed: this credential was not issued to that e-mail address." in html
    assert "Confirmed: this credential" not in html


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Type the candidate&#39;s e-mail address."),
    ({"email": "   "}, "Type the candidate&#39;s e-mail address."),
    ({"email": "not-an-address"}, "That is not an e-mail address"),
    ({"email": "a" * 5000 + "@example.org"}, "An e-mail address has at most 320 characters."),
    ({"email": ["ther@example.test", "other@example.org"]}, "Type one e-mail address."),
])
def test_the_recipient_check_refuses_bad_input_beside_the_field(
        client: FlaskClient, issued: uuid.UUID, data: dict[str, Any], message: str) -> None:
    response = check_email(client, issued, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="recipient-error">{message}' in html
    assert 'aria-invalid="true"' in html
    assert "Confirmed" not in html
    assert "Traceback" not in html


def test_the_recipient_check_needs_the_forms_token_and_a_real_credential(
        client: FlaskClient, issued: uuid.UUID) -> None:
    assert client.post(f"/verify/{issued}/recipient", data={"email": "ther@example.test"}).status_code == 400
    unknown = check_email(client, uuid.uuid4(), {"email": "ther@example.test"})
    assert unknown.status_code == 404
    as_json = client.post(f"/verify/{issued}/recipient", json={"email": "ther@example.test"})
    assert as_json.status_code == 400
    oversized = check_email(client, issued, {"email": "x" * (6 * 1024 * 1024)})
    assert oversized.status_code == 413


def test_the_typed_address_is_neither_stored_nor_logged(
        app: Flask, client: FlaskClient, issued: uuid.UUID, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for email in (STRANGER, "ther@example.test"):
        assert check_email(client, issued, {"email": email}).status_code == 200
    assert paste(client, document_of(app, issued), email=STRANGER).status_code == 200
    assert STRANGER not in caplog.text
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(select(table)).all():
                assert STRANGER not in repr(tuple(row)), table.name
        # nor in the audit log's JSON, read as text
        dumped = db.session.execute(text("SELECT details FROM audit_events")).all()
        assert all(STRANGER not in str(row) for row in dumped)


def test_the_recipient_check_shares_the_verifiers_rate_limit(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    app.config["ISSUER_VERIFY_RATE_LIMIT"] = "2/minute"
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.17.1"
    assert check_email(client, issued, {"email": STRANGER}).status_code == 200
    assert paste(client, document_of(app, issued)).status_code == 200
    refused = check_email(client, issued, {"email": STRANGER})
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert client.get(f"/verify/{issued}/recipient").status_code == 200  # the form itself is not counted


def test_a_tampered_credential_never_heads_with_its_forged_title(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    tampered = document_of(app, issued)
    tampered["name"] = FORGED
    tampered["credentialSubject"]["achievement"]["name"] = FORGED
    response = paste(client, tampered, email="ther@example.test")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    heading = h1(html)
    assert FORGED not in heading
    assert heading == "This credential has been altered since it was issued, or was never issued here"
    assert "What to do next:" in html
    assert "Ask the candidate for a fresh verification link" in html
    assert "contact the issuer" in html
    # Nothing it claims is presented as fact: no card, no holder, no recipient answer.
    assert "Taylor Therapist" not in html
    assert 'class="result-facts"' not in html
    assert "Not checked: the credential itself did not verify" in html
    assert f"“{FORGED}”. Nothing it says can be relied on." in html


def test_a_credential_from_an_unknown_issuer_says_so_in_plain_words(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(key.public_key())
    original = document_of(app, issued)
    unsigned = {k: v for k, v in copy.deepcopy(original).items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": method.split("#")[0]}
    unsigned["name"] = FORGED
    unsigned["id"] = f"urn:uuid:{uuid.uuid4()}"
    forged = eddsa_rdfc_2022.sign(unsigned, private_key=key, verification_method=method, created=utcnow(),
                                  document_loader=document_loader)
    html = paste(client, forged).get_data(as_text=True)
    assert h1(html) == "Not issued by this service or a recognised issuer"
    assert FORGED not in h1(html)


def test_unreadable_input_heads_with_what_failed(client: FlaskClient, issued: uuid.UUID) -> None:
    response = paste(client, '{"not": "a credential"')
    assert response.status_code == 400
    assert h1(response.get_data(as_text=True)) == "This is not a credential we can read"


def test_a_pasted_credential_of_ours_shows_its_holder_and_offers_the_recipient_check(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    document = json.dumps(document_of(app, issued))
    html = paste(client, document).get_data(as_text=True)
    assert h1(html) == "Verified: genuine, current and not revoked"
    assert '<strong class="recipient">Taylor Therapist</strong>' in html
    assert "Emerging music therapist — level 1 of 4" in html
    hidden = re.search(r'<input type="hidden" name="credential" value="([^"]*)">', html)
    assert hidden, "the recipient check form carries the credential back"
    assert html_lib.unescape(hidden.group(1)) == document
    again = paste(client, html_lib.unescape(hidden.group(1)), email="ther@example.test")
    assert "Confirmed: this credential was issued to that e-mail address." in again.get_data(as_text=True)
    denied = paste(client, document, email=STRANGER).get_data(as_text=True)
    assert "Not confirmed" in denied


def test_a_pasted_vc_jwt_of_ours_shows_its_holder(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    with app.app_context():
        token = db.session.get_one(Credential, issued).jwt
    html = paste(client, token, email="ther@example.test").get_data(as_text=True)
    assert h1(html) == "Verified: genuine, current and not revoked"
    assert "Taylor Therapist" in html
    assert "Confirmed" in html


def test_a_trusted_issuers_credential_identified_by_hashed_email_says_so(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(key.public_key())
    did = method.split("#")[0]
    with app.test_request_context():
        trust.add(db.session, issuer_id=did, name="Partner Clinic")
        db.session.commit()
    unsigned = {k: v for k, v in document_of(app, issued).items() if k not in ("proof", "credentialStatus")}
    unsigned["issuer"] = {**unsigned["issuer"], "id": did, "name": "Self-declared Name"}
    unsigned["credentialSubject"]["achievement"]["creator"] = unsigned["issuer"]
    unsigned["id"] = f"urn:uuid:{uuid.uuid4()}"
    signed = eddsa_rdfc_2022.sign(unsigned, private_key=key, verification_method=method, created=utcnow(),
                                  document_loader=document_loader)
    html = paste(client, signed).get_data(as_text=True)
    assert h1(html) == "Verified: genuine, current and not revoked"
    shown = re.sub(r'<input type="hidden" name="credential" value="[^"]*">', "", html)  # the credential itself
    assert "Identified by a hashed e-mail address only" in shown
    assert "Partner Clinic" in shown
    assert "Self-declared Name" not in shown  # an issuer is named as the trust list names it
    assert "Confirmed" in paste(client, signed, email="ther@example.test").get_data(as_text=True)


@pytest.mark.parametrize(("email", "message"), [
    ("x" * 400, "An e-mail address has at most 320 characters."),
    ("not an address", "That is not an e-mail address"),
    (["ther@example.test", "ther@example.test"], "Type one e-mail address."),
])
def test_a_bad_address_with_a_pasted_credential_is_refused_beside_the_field(
        app: Flask, client: FlaskClient, issued: uuid.UUID, email: Any, message: str) -> None:
    response = paste(client, document_of(app, issued), email=email)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="recipient-error">{message}' in html
    assert h1(html) == "Verified: genuine, current and not revoked"  # the verification itself still answers
    assert "Confirmed" not in html


def test_a_hostile_megabyte_with_an_address_is_refused_cleanly(app: Flask, client: FlaskClient,
                                                                issued: uuid.UUID) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    response = paste(client, '{"credentialSubject": ' + nested + "}", email="ther@example.test")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert h1(html) == "This is not a credential we can read"
    assert "Confirmed" not in html
    assert "Traceback" not in html
