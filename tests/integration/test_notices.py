"""The issuance service tells the therapist once the issuance commits: never before, never after a rollback,
and a failure to send never undoes the credential."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.issuance import completion, notices
from issuer.learning import record_book
from issuer.models import Credential, Framework, User, utcnow
from tests.integration.helpers import issue, seed_people


def outbox(app: Flask) -> list[Path]:
    return sorted(Path(app.config["ISSUER_OUTBOX_DIR"]).glob("*.eml"))


def credentials(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Credential)) or 0


def test_the_notice_goes_with_the_commit_of_any_caller(app: Flask) -> None:
    credential_id = issue(app, seed_people(app))  # the service called directly, then one commit
    sent = outbox(app)
    assert len(sent) == 1
    notice = email.message_from_bytes(sent[0].read_bytes(), policy=email.policy.default)
    assert notice["To"] == "ther@example.test"
    assert f"/credentials/{credential_id}" in notice.get_content()


def test_no_notice_before_the_commit_nor_after_a_rollback(app: Flask) -> None:
    people = seed_people(app)
    with app.test_request_context():
        supervisor = db.session.get_one(User, people["supervisor"])
        therapist = db.session.get_one(User, people["therapist"])
        level = db.session.scalars(select(Framework)).one().levels[0]
        for statement in level.statements:
            record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist, statement=statement,
                                       observed_on=utcnow().date(), note="Observed.")
        completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=level)
        assert outbox(app) == []
        db.session.rollback()
        db.session.commit()  # a later commit does not send the rolled-back notice
    assert outbox(app) == []
    assert credentials(app) == 0


def test_a_failed_send_leaves_the_credential_issued(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(message: object) -> None:
        raise OSError("the mail server is down")

    monkeypatch.setattr(notices, "send", refuse)
    credential_id = issue(app, seed_people(app))
    assert outbox(app) == []
    with app.app_context():
        assert db.session.get(Credential, credential_id) is not None
