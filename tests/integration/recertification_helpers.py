"""Set-up for the reminder and renewal tests: a policy set as an administrator sets it, approved activities."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from issuer.extensions import db
from issuer.models import Credential, Framework, User, utcnow
from issuer.recertification import ledger, policy_store
from tests.integration.helpers import issue


def set_policy(app: Flask, people: dict[str, int], **fields: str) -> None:
    """The framework-wide policy, through the administrator's service (``PolicyInput`` fields as text)."""
    with app.app_context():
        framework = db.session.scalars(select(Framework)).one()
        policy_store.set_policy(db.session, framework=framework, level=None,
                                actor=db.session.get_one(User, people["admin"]),
                                data=policy_store.PolicyInput(**fields))
        db.session.commit()


def issue_under_policy(app: Flask, people: dict[str, int], **fields: str) -> uuid.UUID:
    set_policy(app, people, **{"validity_months": "60", "required_credits": "3", "category_minimums": "ethics: 1",
                               "reminder_days": "90,30,7", **fields})
    return issue(app, people)


def approve(app: Flask, people: dict[str, int], *activities: tuple[str, str, int, str],
            on: dt.date | None = None) -> list[int]:
    """Record (as the therapist) and approve (as the supervisor) activities ``(title, provider, minutes, category)``,
    dated ``on`` (default today)."""
    ids = []
    with app.test_request_context():
        therapist = db.session.get_one(User, people["therapist"])
        supervisor = db.session.get_one(User, people["supervisor"])
        for title, provider, minutes, category in activities:
            activity = ledger.record_activity(db.session, actor=therapist, therapist=therapist, title=title,
                                              provider=provider, activity_on=on or utcnow().date(), minutes=minutes,
                                              category=category)
            ledger.decide(db.session, actor=supervisor, activity=activity, approve=True)
            ids.append(activity.id)
        db.session.commit()
    return ids


#: 3.5 credits, 1 of them in ethics: meets "3 credits, ethics: 1".
ENOUGH = (("Ethics in music therapy practice", "AMTA", 50, "ethics"),
          ("Neurologic music therapy update", "Academy of NMT", 125, "clinical practice"))


def credential_row(app: Flask, credential_id: uuid.UUID) -> Credential:
    with app.app_context():
        row = db.session.get_one(Credential, credential_id)
        db.session.expunge(row)
        return row


def outbox(app: Flask) -> list[tuple[str, str, str]]:
    """Every notice written to the outbox: (To, Subject, body), decoded, oldest first."""
    notices = []
    for path in sorted(Path(app.config["ISSUER_OUTBOX_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body()
        assert body is not None
        notices.append((str(message["To"]), str(message["Subject"]), body.get_content()))
    return notices
