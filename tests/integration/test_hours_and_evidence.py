"""Supervised hours and supervisors' qualifications in what is issued (issue 19, parts 3 to 5): a level's completion
refused until the policy's hours are logged; the level credential carrying the hours (a Result against a
ResultDescription of its Achievement), the period (activityStartDate/activityEndDate) and who supervised, with
their qualification; the CLR carrying approved credit activities and the hours. Every document is schema-valid,
loses no term to JSON-LD, and verifies. Both databases."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.credentials import schema
from issuer.credentials.canonicalize import canonicalize
from issuer.credentials.eddsa_rdfc_2022 import verify_proof
from issuer.errors import Conflict, InvalidInput
from issuer.extensions import db
from issuer.identity import keystore
from issuer.issuance import clr, completion
from issuer.models import Credential, Framework, LevelCompletion, SupervisedSession, User, utcnow
from issuer.platform.cache import document_loader
from issuer.recertification import hours, qualifications
from issuer.verification import verifier
from tests.integration.helpers import mark_level
from tests.integration.ledger_helpers import bearer, open_cycle, set_policy, token_for

TODAY = utcnow().date()


def complete(app: Flask, people: dict[str, int], level_index: int = 0) -> dict[str, Any]:
    """Complete the level as the assigned supervisor; the signed credential."""
    with app.test_request_context():
        level = db.session.scalars(select(Framework)).one().levels[level_index]
        credential = completion.complete_level(db.session, supervisor=db.session.get_one(User, people["supervisor"]),
                                               therapist=db.session.get_one(User, people["therapist"]), level=level)
        document: dict[str, Any] = json.loads(credential.document)
        db.session.commit()
        return document


def log(app: Flask, people: dict[str, int], *sessions: tuple[int, int, str, str]) -> None:
    """Log (days ago, minutes, setting, population) sessions as the assigned supervisor."""
    with app.test_request_context():
        sup = db.session.get_one(User, people["supervisor"])
        ther = db.session.get_one(User, people["therapist"])
        for days_ago, minutes, setting, population in sessions:
            hours.log_session(db.session, supervisor=sup, therapist=ther, minutes=minutes, setting=setting,
                              session_on=TODAY - dt.timedelta(days=days_ago), population=population)
        db.session.commit()


def add_qualification(app: Flask, people: dict[str, int], *, until: dt.date | None = None) -> None:
    with app.app_context():
        qualifications.record(db.session, actor=db.session.get_one(User, people["admin"]),
                              supervisor=db.session.get_one(User, people["supervisor"]), credential_name="MT-BC",
                              number="01234", issuing_body="Certification Board for Music Therapists",
                              valid_until=until)
        db.session.commit()


def assert_sound(app: Flask, document: dict[str, Any], schema_name: str) -> str:
    """Schema-valid, nothing dropped by JSON-LD, the Ed25519 proof holds on its own, and our verifier says verified."""
    assert schema.validate(document, schema_name) == []
    with app.test_request_context():
        loader = document_loader()
        canonical = canonicalize({k: v for k, v in document.items() if k != "proof"}, document_loader=loader)
        key = keystore.signing_key(db.session, keystore.ED25519).private_key.public_key()
        proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
        verify_proof(document, proofs[0], public_key=key, document_loader=loader)
        result = verifier.verify_any(db.session, document)
        assert result.verified, result.as_json()
    return canonical  # the N-Quads, for callers that look into them


def test_completion_is_refused_until_the_policys_hours_are_logged(app: Flask, people: dict[str, int]) -> None:
    set_policy(app, months=60, supervised_minutes=600)  # 10 hours
    mark_level(app, people)
    log(app, people, (20, 240, "Hospital", "Adults"), (3, 300, "School", "Children"))  # 9 hours
    with pytest.raises(InvalidInput, match=r"Emerging requires 10 hours of supervised clinical work; 9 are logged "
                                           r"\(1 to go\)"):
        complete(app, people)
    with app.app_context():
        assert db.session.scalar(select(func.count(LevelCompletion.id))) == 0
        assert db.session.scalar(select(func.count(Credential.id))) == 0


def test_completion_refused_over_the_web_with_the_message(app: Flask, client: FlaskClient, people: dict[str, int],
                                                          auth: Any) -> None:
    set_policy(app, months=60, supervised_minutes=60)
    mark_level(app, people)
    auth.login("sup@example.test")
    with app.app_context():
        level_id = db.session.scalars(select(Framework)).one().levels[0].id
    answer = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    assert answer.status_code == 400
    assert "requires 1 hours of supervised clinical work; 0 are logged" in answer.get_data(as_text=True)


def test_the_level_credential_carries_hours_period_and_the_qualified_supervisor(app: Flask,
                                                                              people: dict[str, int]) -> None:
    set_policy(app, months=60, supervised_minutes=600)
    add_qualification(app, people, until=TODAY + dt.timedelta(days=400))
    mark_level(app, people)
    log(app, people, (40, 240, "Hospital", "Adults"), (10, 300, "School", "Children"), (2, 90, "Hospital", "Adults"))
    document = complete(app, people)
    subject = document["credentialSubject"]
    assert subject["activityStartDate"] == f"{(TODAY - dt.timedelta(days=40)).isoformat()}T00:00:00Z"
    assert subject["activityEndDate"] == f"{(TODAY - dt.timedelta(days=2)).isoformat()}T23:59:59Z"
    achievement = subject["achievement"]
    assert achievement["resultDescription"] == [{
        "id": f"{achievement['id']}#supervised-clinical-hours", "type": ["ResultDescription"],
        "name": "Supervised clinical hours", "resultType": "ext:SupervisedClinicalHours", "valueMin": "0",
        "requiredValue": "10"}]
    hours_id = f"{achievement['id']}#supervised-clinical-hours"
    assert subject["result"] == [{"type": ["Result"], "resultDescription": hours_id, "value": "10.5"}]
    assert "creditsEarned" not in subject  # hours are not academic credit (see the README)
    hours_evidence = next(e for e in document["evidence"] if e["name"] == "Supervised clinical hours")
    assert hours_evidence["description"] == (
        f"10.5 hours of clinical work under supervision in 3 session(s), {(TODAY - dt.timedelta(days=40)).isoformat()} "
        f"to {(TODAY - dt.timedelta(days=2)).isoformat()}.")
    assert ("Sam Supervisor (clinical supervisor; MT-BC no. 01234 (Certification Board for Music Therapists, "
            "valid until") in hours_evidence["narrative"]
    assert "settings: Hospital, School; populations: Adults, Children." in hours_evidence["narrative"]
    statements = [e for e in document["evidence"] if e.get("genre") == "Supervisor observation"]
    assert len(statements) == 10
    assert all("attested by Sam Supervisor (clinical supervisor; MT-BC no. 01234 (Certification Board for Music "
               "Therapists, valid until " in e["description"] for e in statements)
    nquads = assert_sound(app, document, "achievementcredential")
    for term in ("activityStartDate", "activityEndDate", "resultDescription", "requiredValue"):
        assert f"vocab.html#{term}>" in nquads
    assert '"ext:SupervisedClinicalHours"' in nquads


def test_without_sessions_or_qualification_the_credential_is_as_before(app: Flask, people: dict[str, int]) -> None:
    mark_level(app, people)
    document = complete(app, people)
    subject = document["credentialSubject"]
    assert not {"activityStartDate", "activityEndDate", "result"} & set(subject)
    assert "resultDescription" not in subject["achievement"]
    assert all(e["description"].endswith("attested by Sam Supervisor (clinical supervisor).")
               for e in document["evidence"])


def test_a_lapsed_or_withdrawn_qualification_is_not_claimed(app: Flask, people: dict[str, int]) -> None:
    add_qualification(app, people)
    with app.app_context():
        admin = db.session.get_one(User, people["admin"])
        row = qualifications.all_of(db.session, [people["supervisor"]])[people["supervisor"]][0]
        qualifications.withdraw(db.session, actor=admin, qualification_id=row.id)
        db.session.commit()
        with pytest.raises(InvalidInput, match="already lapsed"):
            qualifications.record(db.session, actor=admin, supervisor=db.session.get_one(User, people["supervisor"]),
                                  credential_name="MT-BC", number="1", issuing_body="CBMT",
                                  valid_until=TODAY - dt.timedelta(days=1))
    mark_level(app, people)
    document = complete(app, people)
    assert "MT-BC" not in json.dumps(document)


def test_the_clr_carries_approved_activities_and_the_hours(app: Flask, client: FlaskClient,
                                                           people: dict[str, int]) -> None:
    open_cycle(app, people)
    log(app, people, (5, 120, "Community", "Older adults"))
    tokens = {role: token_for(app, people[role]) for role in ("therapist", "supervisor")}
    path = f"/api/v1/therapists/{people['therapist']}/activities"
    made = [client.post(path, headers=bearer(tokens["therapist"]), json={
        "title": title, "provider": "AMTA", "activityOn": TODAY.isoformat(), "minutes": minutes, "category": category,
        "evidenceUrl": "https://example.test/certificate"}).get_json() for title, minutes, category in (
        ("Ethics of touch", 150, "ethics"), ("Drumming circles", 75, "music skills"), ("Lunch talk", 30, "research"))]
    for item in made[:2]:
        approved = client.post(f"/api/v1/activities/{item['id']}/approve", headers=bearer(tokens["supervisor"]))
        assert approved.status_code == 200
    with app.test_request_context():
        therapist = db.session.get_one(User, people["therapist"])
        signed = clr.signed_clr(db.session, therapist, now=utcnow())
        db.session.commit()
    document = signed.document
    ce = [a for a in document["credentialSubject"]["achievement"]
          if a.get("achievementType") == "ext:ContinuingEducation"]
    assert [(a["name"], a["creditsAvailable"], a["tag"]) for a in ce] == [
        ("Ethics of touch", 3.0, ["Ethics"]), ("Drumming circles", 1.5, ["Music skills"])]  # approved only
    assert ce[0]["criteria"]["narrative"].startswith("Approved for continuing-education credit by Sam Supervisor on ")
    assert ce[0]["description"] == (f"Continuing education provided by AMTA on {TODAY.isoformat()}: 150 minutes, 3 "
                                    "credit(s) in Ethics. Evidence: https://example.test/certificate")
    assert all(a["id"].startswith("urn:uuid:") for a in ce)
    assert [e["name"] for e in document["evidence"]] == ["Supervised clinical hours"]
    assert document["evidence"][0]["description"].startswith("2 hours of clinical work under supervision in 1 session")
    nquads = assert_sound(app, document, "clrcredential")
    assert "vocab.html#creditsAvailable>" in nquads
    # The same activity has the same id in the next CLR.
    with app.test_request_context():
        again = clr.build_clr(db.session, db.session.get_one(User, people["therapist"]), now=utcnow())
    assert [a["id"] for a in again["credentialSubject"]["achievement"] if a.get("achievementType")
            == "ext:ContinuingEducation"] == [a["id"] for a in ce]


@pytest.mark.parametrize(("change", "message"), [
    ({"minutes": -60}, "more than 0"), ({"minutes": 0}, "more than 0"), ({"minutes": 1441}, "at most 24 hours"),
    ({"sessionOn": (TODAY + dt.timedelta(days=1)).isoformat()}, "cannot be in the future"),
    ({"sessionOn": "2001-01-01"}, "more than ten years ago"), ({"setting": ""}, "give the setting"),
    ({"population": "p" * 101}, "longer than 100"),
])
def test_bad_sessions_are_refused(app: Flask, client: FlaskClient, people: dict[str, int], change: dict[str, Any],
                                  message: str) -> None:
    body = {"sessionOn": TODAY.isoformat(), "minutes": 60, "setting": "Hospital", "population": "Adults", **change}
    answer = client.post(f"/api/v1/therapists/{people['therapist']}/hours", json=body,
                         headers=bearer(token_for(app, people["supervisor"])))
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(SupervisedSession.id))) == 0


def test_only_an_assigned_supervisor_logs_hours(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    body = {"sessionOn": TODAY.isoformat(), "minutes": 60, "setting": "Hospital", "population": "Adults"}
    path = f"/api/v1/therapists/{people['therapist']}/hours"
    assert client.post(path, json=body, headers=bearer(token_for(app, people["other"]))).status_code == 404
    assert client.post(path, json=body, headers=bearer(token_for(app, people["therapist"]))).status_code == 403
    made = client.post(path, json=body, headers=bearer(token_for(app, people["supervisor"])))
    assert made.status_code == 201
    listed = client.get(path, headers=bearer(token_for(app, people["therapist"]))).get_json()
    assert (listed["hours"], listed["sessions"], listed["log"][0]["setting"]) == ("1", 1, "Hospital")


def test_a_day_holds_at_most_24_supervised_hours(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    token = token_for(app, people["supervisor"])
    path = f"/api/v1/therapists/{people['therapist']}/hours"
    body = {"sessionOn": TODAY.isoformat(), "minutes": 800, "setting": "Hospital", "population": "Adults"}
    assert client.post(path, json=body, headers=bearer(token)).status_code == 201
    refused = client.post(path, json=body, headers=bearer(token))
    assert refused.status_code == 400
    assert "already holds 800 supervised minutes" in refused.get_json()["message"]


def test_withdrawing_twice_is_409(app: Flask, people: dict[str, int]) -> None:
    add_qualification(app, people)
    with app.app_context():
        admin = db.session.get_one(User, people["admin"])
        row_id = qualifications.all_of(db.session, [people["supervisor"]])[people["supervisor"]][0].id
        qualifications.withdraw(db.session, actor=admin, qualification_id=row_id)
        with pytest.raises(Conflict, match="already withdrawn"):
            qualifications.withdraw(db.session, actor=admin, qualification_id=row_id)
