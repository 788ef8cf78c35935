"""The learning record as a CLR 2.0 credential: built on demand, signed, verified with everything inside it."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from issuer.credentials import schema
from issuer.extensions import db
from issuer.issuance import signing
from issuer.models import IssuedDocument
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
        from issuer.issuance import clr as clr_service
        from issuer.models import User, utcnow

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
    client = app.test_client()
    AuthActions(client).login("ther@example.test")
    therapist = AuthActions(client)
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
