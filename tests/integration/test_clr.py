"""The learning record as a CLR 2.0 credential: built on demand, signed, verified with everything inside it."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.credentials import schema
from issuer.extensions import db
from issuer.issuance import clr as clr_service
from issuer.issuance import completion, revocation, signing
from issuer.models import Credential, Framework, IssuedDocument, User, utcnow
from issuer.recertification import policy_store
from issuer.verification import verifier
from tests.conftest import AuthActions
from tests.integration.helpers import issue, seed_people


def test_two_levels_give_a_clr_that_verifies_and_refuses_tampering(app: Flask) -> None:
    people = seed_people(app)
    issue(app, people, 0)
    issue(app, people, 1)
    result = app.test_cli_runner().invoke(args=["credentials", "clr", "ther@example.test"])
    assert result.exit_code == 0, result.output
    clr = json.loads(result.output)
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    subject = clr["credentialSubject"]
    assert [c["name"] for c in subject["verifiableCredential"]] == ["Music Therapists: Emerging",
                                                                    "Music Therapists: Developing"]
    assert len(subject["achievement"]) == 20
    assert {a["associationType"] for a in subject["association"]} == {"isChildOf"}
    assert clr["partial"] is True
    assert schema.validate(clr, "clrcredential") == []
    with app.test_request_context():
        verified = verifier.verify_any(db.session, clr)
        assert verified.verified, verified.as_json()
        assert any(c.name == "credentials" and c.ok for c in verified.checks)
        tampered = json.loads(json.dumps(clr))
        tampered["credentialSubject"]["verifiableCredential"][1]["name"] = "Music Therapists: Advanced"
        refused = verifier.verify_any(db.session, tampered)
        assert not refused.verified
        assert next(c for c in refused.checks if c.name == "issuer").message.startswith("Not issued by this service")
        # A CLR whose own proof is good but which carries a tampered credential fails on that credential.
        unsigned = clr_service.build_clr(db.session, db.session.get_one(User, people["therapist"]), now=utcnow())
        unsigned["credentialSubject"]["verifiableCredential"][1]["name"] = "Music Therapists: Advanced"
        signed = signing.sign(db.session, unsigned, now=utcnow(), schema_name="clrcredential")
        signing.record_issued(db.session, signed, kind="clr", subject=None, now=utcnow())  # as if we had issued it
        clr_result = verifier.verify_any(db.session, signed.document)
        assert not clr_result.verified
        assert next(c for c in clr_result.checks if c.name == "proof").ok is True
        inner = next(c for c in clr_result.checks if c.name == "credentials")
        assert inner.ok is False
        assert "#2" in inner.message


def test_therapist_downloads_the_clr_as_json_and_jwt(app: Flask) -> None:
    people = seed_people(app)
    issue(app, people, 0)
    client, therapist = _signed_in_therapist(app)
    as_json = therapist.post("/me/clr.json")
    assert as_json.status_code == 200
    assert json.loads(as_json.get_data())["type"][1] == "ClrCredential"
    as_jwt = therapist.post("/me/clr.jwt").get_data(as_text=True)
    with app.test_request_context():
        assert verifier.verify_any(db.session, as_jwt).verified
        assert verifier.verify_any(db.session, as_json.get_data(as_text=True)).verified
        recorded = db.session.scalars(select(IssuedDocument).order_by(IssuedDocument.issued_at)).all()
        assert [(d.kind, d.subject_user_id) for d in recorded] == [("clr", people["therapist"])] * 2
    assert client.get("/me/clr.json").status_code == 405, "issuing a CLR writes its record: never on a GET"
    other = app.test_client()
    AuthActions(other).login("sup@example.test")
    assert AuthActions(other).post("/me/clr.json").status_code == 403


def _change(app: Flask, credential_id: uuid.UUID, action: str, reason: str) -> None:
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action=action, reason=reason, actor=None)
        db.session.commit()


def _credential_url(app: Flask, credential_id: uuid.UUID) -> str:
    with app.test_request_context():
        return completion.credential_url(credential_id)


def _signed_in_therapist(app: Flask) -> tuple[FlaskClient, AuthActions]:
    """A client signed in as the seeded therapist, and its actions (for CSRF-carrying posts)."""
    client = app.test_client()
    therapist = AuthActions(client)
    therapist.login("ther@example.test")
    return client, therapist


def _left_out(page: str) -> str:
    """The "left out of your learning record" part of the therapist's page."""
    left_out = page[page.index('id="clr-left-out"'):]
    return left_out[:left_out.index("</div>")]


def test_the_clr_leaves_out_revoked_and_suspended_credentials_and_says_why(app: Flask) -> None:
    people = seed_people(app)
    emerging, developing, proficient = (issue(app, people, n) for n in range(3))
    _change(app, emerging, "revoke", "Issued to the wrong therapist")
    _change(app, developing, "suspend", "Under review by the board")
    client, therapist = _signed_in_therapist(app)
    page = client.get("/me").get_data(as_text=True)
    left_out = _left_out(page)
    assert "Only credentials that are valid today go into the learning record" in left_out
    with app.app_context():
        revoked_on = db.session.get_one(Credential, emerging).revoked_at
        suspended_on = db.session.get_one(Credential, developing).suspended_at
    assert revoked_on is not None
    assert suspended_on is not None
    assert (f"Music Therapists: Emerging</strong>, issued {revoked_on:%d %B %Y}: revoked on "
            f"{revoked_on.day} {revoked_on:%B %Y}: Issued to the wrong therapist.</li>") in left_out
    assert (f"Music Therapists: Developing</strong>, issued {suspended_on:%d %B %Y}: suspended since "
            f"{suspended_on.day} {suspended_on:%B %Y}: Under review by the board.</li>") in left_out
    assert "Proficient" not in left_out
    assert "1 level\n     credential valid today" in page

    download = therapist.post("/me/clr.json")
    assert download.status_code == 200
    document = json.loads(download.get_data())
    inner = document["credentialSubject"]["verifiableCredential"]
    assert [c["id"] for c in inner] == [_credential_url(app, proficient)]
    assert document["partial"] is True
    assert "revoked, suspended, expired and replaced credentials are left out" in document["description"]
    assert download.headers["Clr-Left-Out"] == (f"<{_credential_url(app, emerging)}>; reason=revoked, "
                                                f"<{_credential_url(app, developing)}>; reason=suspended")
    with app.test_request_context():
        verified = verifier.verify_any(db.session, document)
        assert verified.verified, verified.as_json()
        assert verified.errors == []
    # unsuspended, it goes back in
    _change(app, developing, "unsuspend", "Review closed")
    again = json.loads(therapist.post("/me/clr.json").get_data())
    assert [c["id"] for c in again["credentialSubject"]["verifiableCredential"]] == [
        _credential_url(app, developing), _credential_url(app, proficient)]


def test_with_no_credential_valid_now_there_is_no_clr_to_download(app: Flask) -> None:
    people = seed_people(app)
    only = issue(app, people, 0)
    _change(app, only, "revoke", "Completed in error")
    client, therapist = _signed_in_therapist(app)
    page = client.get("/me").get_data(as_text=True)
    assert "once you hold a level credential\n     that is valid today" in page
    assert "Completed in error" in page
    assert "/me/clr.json" not in page
    refused = therapist.post("/me/clr.json")
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "There is no credential valid now to put in a learning record" in body
    assert "Music Therapists: Emerging (revoked on" in body
    with app.app_context():
        assert db.session.scalars(select(IssuedDocument)).all() == []  # nothing signed, nothing recorded
    result = app.test_cli_runner().invoke(args=["credentials", "clr", "ther@example.test"])
    assert result.exit_code == 1
    assert "There is no credential valid now" in result.output


def test_a_clr_holding_a_revoked_and_a_suspended_credential_fails_with_both_in_errors(app: Flask) -> None:
    """As a CLR signed before CLRs left such credentials out: its own proof holds and it is on record."""
    people = seed_people(app)
    emerging, developing = issue(app, people, 0), issue(app, people, 1)
    with app.test_request_context():
        therapist = db.session.get_one(User, people["therapist"])
        signed = signing.sign(db.session, clr_service.build_clr(db.session, therapist, now=utcnow()), now=utcnow(),
                              schema_name="clrcredential")
        signing.record_issued(db.session, signed, kind="clr", subject=therapist, now=utcnow())
        db.session.commit()
        assert verifier.verify_any(db.session, signed.document).verified
    _change(app, emerging, "revoke", "Issued in error")
    _change(app, developing, "suspend", "Under review")
    revoked = f"Included credential 'Music Therapists: Emerging' ({_credential_url(app, emerging)}) is revoked"
    suspended = (f"Included credential 'Music Therapists: Developing' ({_credential_url(app, developing)}) "
                 "is suspended")
    with app.test_request_context():
        for presented in (signed.document, signed.jwt):
            result = verifier.verify_any(db.session, presented)
            assert result.verified is False
            assert result.errors == [revoked, suspended], result.as_json()
            assert next(c for c in result.checks if c.name == "proof").ok is True
            assert next(c for c in result.checks if c.name == "credentials").ok is False
    client = app.test_client()
    api = client.post("/api/v1/verify", data=json.dumps(signed.document), content_type="application/json")
    assert api.status_code == 200
    assert api.get_json()["verified"] is False
    assert api.get_json()["errors"] == [revoked, suspended]
    vcapi = client.post("/credentials/verify", json={"verifiableCredential": signed.document})
    assert vcapi.status_code == 400
    errors = vcapi.get_json()["errors"]
    assert errors[:2] == [revoked, suspended]
    assert len(errors) == len(set(errors))  # each once


def test_the_clr_command_prints_the_clr_and_lists_what_it_left_out_on_stderr(app: Flask) -> None:
    people = seed_people(app)
    emerging, developing = issue(app, people, 0), issue(app, people, 1)
    _change(app, emerging, "suspend", "Under review")
    result = app.test_cli_runner().invoke(args=["credentials", "clr", "ther@example.test"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [c["id"] for c in document["credentialSubject"]["verifiableCredential"]] == [
        _credential_url(app, developing)]
    assert result.stderr.startswith(f"Left out: Music Therapists: Emerging ({emerging}): suspended since ")
    assert result.stderr.rstrip().endswith(": Under review")


def test_an_expired_credential_is_left_out_of_a_new_clr_and_fails_an_old_one_in_plain_words(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time is frozen, not slept through: the verifier's ``now`` and the therapist pages' clock are set to a day
    after the Emerging credential's validUntil (only Emerging has a validity policy, so Developing never expires)."""
    people = seed_people(app)
    with app.app_context():
        framework = db.session.scalars(select(Framework)).one()
        policy_store.set_policy(db.session, framework=framework, level=framework.levels[0],
                                actor=db.session.get_one(User, people["admin"]),
                                data=policy_store.PolicyInput(validity_months="24"))
        db.session.commit()
    emerging, developing = issue(app, people, 0), issue(app, people, 1)
    with app.test_request_context():
        until = db.session.get_one(Credential, emerging).valid_until
        assert until is not None
        assert db.session.get_one(Credential, developing).valid_until is None
        therapist = db.session.get_one(User, people["therapist"])
        old = clr_service.signed_clr(db.session, therapist, now=utcnow())  # signed while both were valid
        db.session.commit()
    after = until + dt.timedelta(days=1)
    expired = (f"Included credential 'Music Therapists: Emerging' ({_credential_url(app, emerging)}) expired on "
               f"{until.date().isoformat()} (validUntil was {until.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    with app.test_request_context():
        # The old CLR: good the day before validUntil; the day after, its own proof holds (it is on record), but the
        # credential inside has expired, and errors say so in plain words, once, for JSON-LD and JWT alike.
        for presented in (old.document, old.jwt):
            before = verifier.verify_any(db.session, presented, now=until - dt.timedelta(days=1))
            assert before.verified, before.as_json()
            result = verifier.verify_any(db.session, presented, now=after)
            assert result.verified is False
            assert result.errors == [expired], result.as_json()
            assert next(c for c in result.checks if c.name == "proof").ok is True
            assert next(c for c in result.checks if c.name == "credentials").ok is False
        # An answer made for a later instant never stands for an earlier one (the answer cache): the expired
        # credential, asked about the day after and then the day before, is expired and then valid.
        inner = db.session.get_one(Credential, emerging).document
        assert not verifier.verify_any(db.session, inner, now=after).verified
        assert verifier.verify_any(db.session, inner, now=until - dt.timedelta(days=1)).verified
        # A new CLR made then leaves it out, with the reason "expired".
        contents = clr_service.clr_contents(db.session, db.session.get_one(User, people["therapist"]), now=after)
        assert [c.id for c in contents.included] == [developing]
        assert [(o.credential.id, o.kind, o.why) for o in contents.left_out] == [
            (emerging, "expired", f"expired on {until.day} {until:%B %Y}")]

    # The therapist, on the page and through the download, a day after validUntil.
    monkeypatch.setattr("issuer.web.therapist.utcnow", lambda: after)
    client, therapist_client = _signed_in_therapist(app)
    left_out = _left_out(client.get("/me").get_data(as_text=True))
    assert "Music Therapists: Emerging</strong>, issued " in left_out
    assert f": expired on {until.day} {until:%B %Y}.</li>" in left_out
    assert "Developing" not in left_out
    download = therapist_client.post("/me/clr.json")
    assert download.status_code == 200, download.get_data(as_text=True)
    assert download.headers["Clr-Left-Out"] == f"<{_credential_url(app, emerging)}>; reason=expired"
    document = json.loads(download.get_data())
    assert [c["id"] for c in document["credentialSubject"]["verifiableCredential"]] == [
        _credential_url(app, developing)]
    assert "expired" in document["description"]
    with app.test_request_context():
        fresh = verifier.verify_any(db.session, document, now=after)
        assert fresh.verified, fresh.as_json()
        assert fresh.errors == []
