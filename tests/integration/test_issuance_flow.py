"""From sign-in to an issued, verifiable credential: the supervisor's whole workflow."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from issuer.accounts import assignments
from issuer.credentials import eddsa_rdfc_2022, schema
from issuer.extensions import db
from issuer.identity import keystore
from issuer.issuance import completion
from issuer.models import AuditEvent, Credential, Framework, LevelCompletion, StatementMark, StatusEntry, User
from issuer.platform import settings
from issuer.verification import verifier
from tests.conftest import AuthActions


def emerging(app: Flask) -> tuple[int, list[int]]:
    with app.app_context():
        level = db.session.scalars(select(Framework)).one().levels[0]
        return level.id, [s.id for s in level.statements]


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def mark_all(auth: AuthActions, therapist_id: int, statement_ids: list[int]) -> None:
    for sid in statement_ids:
        response = auth.post(f"/supervisor/therapists/{therapist_id}/statements/{sid}/mark",
                             {"observed_on": "2026-11-20", "note": "Seen in group session."})
        assert response.status_code == 302, response.get_data(as_text=True)


def test_whole_flow_from_login_to_verified_credential(app: Flask, client: FlaskClient, auth: AuthActions,
                                                       people: dict[str, int]) -> None:
    level_id, statements = emerging(app)
    auth.login("sup@example.test")
    page = client.get(f"/supervisor/therapists/{people['therapist']}")
    assert page.status_code == 200
    assert "Client needs assessment" in page.get_data(as_text=True)
    mark_all(auth, people["therapist"], statements)
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    assert response.status_code == 302
    credential_id = uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])

    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        document = json.loads(credential.document)
        assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert document["credentialSubject"]["achievement"]["name"] == "Music Therapists: Emerging"
        assert len(document["evidence"]) == 10
        assert "Sam Supervisor" in document["evidence"][0]["description"]
        assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
        assert document["credentialStatus"]["statusPurpose"] == "revocation"
        assert schema.validate(document) == []
        result = verifier.verify_stored(db.session, credential)
        assert result.verified, result.as_json()
        jwt_result = verifier.verify_any(db.session, credential.jwt)
        assert jwt_result.verified, jwt_result.as_json()
        event = db.session.scalars(select(AuditEvent).filter_by(action="credential.issued")).one()
        assert event.subject_id == str(credential_id)

    page = client.get(f"/credentials/{credential_id}")
    assert page.status_code == 200
    assert "Taylor Therapist" in page.get_data(as_text=True)

    # The therapist is told, through the outbox when no SMTP server is configured.
    import email
    import email.policy
    from pathlib import Path

    notices = list(Path(app.config["ISSUER_OUTBOX_DIR"]).glob("*.eml"))
    assert len(notices) == 1
    notice = email.message_from_bytes(notices[0].read_bytes(), policy=email.policy.default)
    assert notice["To"] == "ther@example.test"
    assert "Emerging" in notice["Subject"]
    assert f"/credentials/{credential_id}" in notice.get_content()


def test_incomplete_level_cannot_be_completed(app: Flask, auth: AuthActions, people: dict[str, int]) -> None:
    level_id, statements = emerging(app)
    auth.login("sup@example.test")
    mark_all(auth, people["therapist"], statements[:9])
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    assert response.status_code == 400
    assert "1 statement(s) of Emerging are not yet met" in response.get_data(as_text=True)
    assert count(app, LevelCompletion) == 0
    assert count(app, Credential) == 0


def test_second_completion_returns_409_pointing_at_the_first(app: Flask, auth: AuthActions,
                                                             people: dict[str, int]) -> None:
    level_id, statements = emerging(app)
    auth.login("sup@example.test")
    mark_all(auth, people["therapist"], statements)
    first = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    second = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    assert (first.status_code, second.status_code) == (302, 409)
    assert first.headers["Location"].rsplit("/", 1)[1] in second.get_data(as_text=True)
    assert count(app, Credential) == 1


def test_a_level_complete_with_statements_missing_answers_409_before_anything_else(
        app: Flask, auth: AuthActions, people: dict[str, int]) -> None:
    level_id, statements = emerging(app)
    with app.app_context():
        settings.put(db.session, settings.ALLOW_OVERRIDE, "true", actor=None)
        db.session.commit()
    auth.login("sup@example.test")
    mark_all(auth, people["therapist"], statements[:3])
    first = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete",
                      {"justification": "Observed across the placement; recorded late."})
    assert first.status_code == 302, first.get_data(as_text=True)
    # Seven statements are still missing: with a justification, without one, and with the override turned off,
    # the answer is that the level is already complete.
    with app.app_context():
        settings.put(db.session, settings.ALLOW_OVERRIDE, "false", actor=None)
        db.session.commit()
    for form in ({"justification": "Again."}, {}):
        again = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete", form)
        assert again.status_code == 409, again.get_data(as_text=True)
        assert first.headers["Location"].rsplit("/", 1)[1] in again.get_data(as_text=True)
    assert count(app, LevelCompletion) == 1
    assert count(app, Credential) == 1


def test_undo_is_kept_in_the_record(app: Flask, auth: AuthActions, client: FlaskClient, people: dict[str, int]) -> None:
    _, statements = emerging(app)
    auth.login("sup@example.test")
    mark_all(auth, people["therapist"], statements[:1])
    with app.app_context():
        mark_id = db.session.scalars(select(StatementMark)).one().id
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/marks/{mark_id}/undo",
                         {"reason": "Recorded for the wrong session."})
    assert response.status_code == 302
    with app.app_context():
        marks = db.session.scalars(select(StatementMark).order_by(StatementMark.id)).all()
        assert [(m.kind, m.undoes_id) for m in marks] == [("met", None), ("undone", mark_id)]
        assert marks[1].reason == "Recorded for the wrong session."
    page = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert "Withdrawn: Recorded for the wrong session." in page


def test_unassigned_supervisor_gets_404(app: Flask, auth: AuthActions, client: FlaskClient,
                                        people: dict[str, int]) -> None:
    _, statements = emerging(app)
    auth.login("other@example.test")
    assert client.get(f"/supervisor/therapists/{people['therapist']}").status_code == 404
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/statements/{statements[0]}/mark",
                         {"observed_on": "2026-11-20"})
    assert response.status_code == 404
    assert count(app, StatementMark) == 0


@pytest.mark.parametrize("failure", ["signing", "commit"])
def test_failure_during_issuance_leaves_nothing(app: Flask, auth: AuthActions, people: dict[str, int],
                                                monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    level_id, statements = emerging(app)
    auth.login("sup@example.test")
    mark_all(auth, people["therapist"], statements)
    before_audit = count(app, AuditEvent)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"injected {failure} failure")

    if failure == "signing":
        monkeypatch.setattr(eddsa_rdfc_2022, "sign", boom)
    else:
        monkeypatch.setattr(db.session, "commit", boom)  # the view's one commit
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level_id}/complete")
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    monkeypatch.undo()
    assert count(app, LevelCompletion) == 0
    assert count(app, Credential) == 0
    assert count(app, StatusEntry) == 0
    assert count(app, AuditEvent) == before_audit


def test_cli_complete_prints_the_uuid_and_refuses_unassigned(app: Flask, runner: FlaskCliRunner,
                                                             people: dict[str, int]) -> None:
    refused = runner.invoke(args=["complete", "other@example.test", "ther@example.test", "Emerging",
                                  "--mark-all-statements"])
    assert refused.exit_code == 1
    assert "not assigned" in refused.output
    ok = runner.invoke(args=["complete", "sup@example.test", "ther@example.test", "EMERGING", "--mark-all-statements"])
    assert ok.exit_code == 0, ok.output
    credential_id = uuid.UUID(ok.output.strip())
    with app.app_context():
        assert db.session.get(Credential, credential_id).therapist.email == "ther@example.test"
    again = runner.invoke(args=["complete", "sup@example.test", "ther@example.test", "emerging"])
    assert again.exit_code == 1
    assert str(credential_id) in again.output


def test_twenty_concurrent_completions_issue_one_credential(postgres_app: Flask) -> None:
    """Twenty workers complete the same level at once: the database lets exactly one through."""
    app = postgres_app
    from issuer.accounts import directory
    from issuer.frameworks.catalogue import import_framework, parse_framework
    from issuer.learning import record_book
    from issuer.models import Level, utcnow
    from tests.conftest import SEED_FRAMEWORK

    with app.app_context():
        framework = import_framework(db.session, parse_framework(SEED_FRAMEWORK)).framework
        sup = directory.create_user(db.session, email="sup@example.test", name="Sam", role="supervisor",
                                   password="correct horse battery")
        ther = directory.create_user(db.session, email="ther@example.test", name="Tay", role="therapist",
                                    password="correct horse battery")
        assignments.assign(db.session, supervisor=sup, therapist=ther)
        keystore.ensure_keys(db.session)
        level = framework.levels[0]
        for statement in level.statements:
            record_book.mark_statement(db.session, supervisor=sup, therapist=ther, statement=statement,
                                   observed_on=utcnow().date())
        db.session.commit()
        ids = (sup.id, ther.id, level.id)

    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        with app.test_request_context():
            supervisor, therapist = db.session.get_one(User, ids[0]), db.session.get_one(User, ids[1])
            level = db.session.get_one(Level, ids[2])
            barrier.wait(timeout=60)
            try:
                completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=level)
                db.session.commit()
                outcomes.append("issued")
            except completion.AlreadyIssued:
                db.session.rollback()
                outcomes.append("conflict")
            except Exception as error:  # noqa: BLE001 - recorded and asserted below
                db.session.rollback()
                outcomes.append(f"error: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 19 + ["issued"]
    assert count(app, Credential) == 1
    assert count(app, LevelCompletion) == 1
    assert count(app, StatusEntry) == 2


def test_fifty_concurrent_issuances_never_share_a_status_index(postgres_app: Flask) -> None:
    """50 workers issue to 50 therapists at once: every status index is distinct, by database constraint."""
    app = postgres_app
    from issuer.accounts import directory
    from issuer.frameworks.catalogue import import_framework, parse_framework
    from issuer.learning import record_book
    from issuer.models import Level, utcnow
    from tests.conftest import SEED_FRAMEWORK

    with app.app_context():
        framework = import_framework(db.session, parse_framework(SEED_FRAMEWORK)).framework
        sup = directory.create_user(db.session, email="sup@example.test", name="Sam", role="supervisor",
                                   password="correct horse battery")
        keystore.ensure_keys(db.session)
        level = framework.levels[0]
        therapist_ids = []
        for n in range(50):
            ther = directory.create_user(db.session, email=f"t{n}@example.test", name=f"T{n}", role="therapist",
                                        password="correct horse battery")
            assignments.assign(db.session, supervisor=sup, therapist=ther)
            for statement in level.statements:
                record_book.mark_statement(db.session, supervisor=sup, therapist=ther, statement=statement,
                                       observed_on=utcnow().date())
            therapist_ids.append(ther.id)
        db.session.commit()
        sup_id, level_id = sup.id, level.id

    errors: list[str] = []
    barrier = threading.Barrier(50)

    def attempt(therapist_id: int) -> None:
        with app.test_request_context():
            try:
                barrier.wait(timeout=60)  # all start together, before any takes a pooled connection
                supervisor, therapist = db.session.get_one(User, sup_id), db.session.get_one(User, therapist_id)
                level = db.session.get_one(Level, level_id)
                completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=level)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - asserted below
                db.session.rollback()
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(tid,)) for tid in therapist_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        entries = db.session.scalars(select(StatusEntry)).all()
        assert len(entries) == 100
        assert len({(e.list_id, e.index) for e in entries}) == 100
        documents = [json.loads(c.document) for c in db.session.scalars(select(Credential))]
        assert len({d["credentialStatus"]["statusListIndex"] for d in documents}) == 50
