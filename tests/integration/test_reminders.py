"""Expiry reminders: due at each lead time of the policy, claimed before they are sent, sent once each (a run
repeated, or two at once), after the commit; their content; none for revoked, suspended, superseded or expired
credentials. Time is frozen through ``send_due``'s ``now``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from issuer.extensions import db
from issuer.issuance import revocation
from issuer.models import Credential, ReminderNotice, User
from issuer.recertification import reminders
from tests.integration.helpers import race, seed_people
from tests.integration.recertification_helpers import approve, credential_row, issue_under_policy, outbox

DAY = dt.timedelta(days=1)


def _reminders(app: Flask) -> list[tuple[str, str, str]]:
    return [n for n in outbox(app) if "credential expires" in n[1]]


def _run(app: Flask, now: dt.datetime, *, dry_run: bool = False) -> list[reminders.Reminder]:
    with app.test_request_context():
        sent = reminders.send_due(db.session, now=now, dry_run=dry_run)
        db.session.commit()
    return sent


def _claims(app: Flask, credential_id: uuid.UUID) -> list[int]:
    with app.app_context():
        return sorted(db.session.scalars(select(ReminderNotice.lead_days).filter_by(credential_id=credential_id)))


@pytest.fixture
def expiring(app: Flask, people: dict[str, int]) -> tuple[uuid.UUID, dt.datetime]:
    credential_id = issue_under_policy(app, people)
    until = credential_row(app, credential_id).valid_until
    assert until is not None
    return credential_id, until


def test_the_reminder_names_the_credential_the_date_the_days_left_the_credits_and_a_link(
        app: Flask, people: dict[str, int], expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    approve(app, people, ("Documentation workshop", "Regional chapter", 100, "research"))
    sent = _run(app, until - 30 * DAY)
    assert [(r.credential_id, r.lead_days, r.days_left) for r in sent] == [(credential_id, 30, 30)]
    [(to, subject, body)] = _reminders(app)
    assert to == "ther@example.test"
    assert subject == "Your Music Therapists: Emerging credential expires in 30 days"
    day = until.strftime("%d %B %Y").lstrip("0")
    assert (f"Your Emerging credential of the Music Therapists competency framework v.26.05, issued by Clinical "
            f"Competency Credentials, expires in 30 days: it is valid until {day} at {until:%H:%M} (UTC).") in body
    assert ("To renew it, you still need:\n  - 1 more credit(s): 2 of 3 approved\n"
            "  - 1 more credit(s) in ethics: 0 of 1 approved\n") in body
    assert f"Your credential: http://127.0.0.1:5000/credentials/{credential_id}" in body
    assert "http://127.0.0.1:5000/me" in body


def test_each_lead_time_is_sent_once(app: Flask, expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    assert _run(app, until - 100 * DAY) == []  # not due yet
    assert [r.lead_days for r in _run(app, until - 90 * DAY)] == [90]
    assert _run(app, until - 90 * DAY) == []  # run again: nothing twice
    assert _run(app, until - 60 * DAY) == []
    assert [r.lead_days for r in _run(app, until - 30 * DAY)] == [30]
    assert _run(app, until - 29 * DAY) == []
    assert [(r.lead_days, r.days_left) for r in _run(app, until - 6 * DAY)] == [(7, 6)]  # a day late: still sent
    assert _run(app, until - 1 * DAY) == []
    assert _claims(app, credential_id) == [7, 30, 90]
    subjects = [subject for _to, subject, _body in _reminders(app)]
    assert subjects == [f"Your Music Therapists: Emerging credential expires in {n} days" for n in (90, 30, 6)]


def test_when_several_are_due_one_notice_goes_for_the_nearest(
        app: Flask, expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    # the command did not run for months: 90 and 30 are both due; one notice, and 90 never goes late
    assert [r.lead_days for r in _run(app, until - 20 * DAY)] == [30]
    assert _claims(app, credential_id) == [30, 90]
    assert len(_reminders(app)) == 1
    # on the last day
    assert [r.days_left for r in _run(app, until - dt.timedelta(hours=1))] == [0]
    assert _reminders(app)[-1][1] == "Your Music Therapists: Emerging credential expires today"


def test_met_requirements_say_so(app: Flask, people: dict[str, int],
                                 expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    _credential_id, until = expiring
    approve(app, people, ("Ethics in music therapy practice", "AMTA", 150, "ethics"))
    _run(app, until - 7 * DAY)
    [(_to, _subject, body)] = _reminders(app)
    assert "meet the requirements for renewal" in body
    assert "you still need" not in body


def test_a_dry_run_claims_and_sends_nothing(app: Flask, expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    assert [r.lead_days for r in _run(app, until - 30 * DAY, dry_run=True)] == [30]
    assert _claims(app, credential_id) == []
    assert _reminders(app) == []


def test_a_rolled_back_run_sends_nothing_and_claims_nothing(
        app: Flask, expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    with app.test_request_context():
        assert reminders.send_due(db.session, now=until - 30 * DAY)
        db.session.rollback()
    assert _reminders(app) == []
    assert _claims(app, credential_id) == []
    assert [r.lead_days for r in _run(app, until - 30 * DAY)] == [30]


def test_no_reminder_for_revoked_suspended_superseded_expired_or_inactive(
        app: Flask, people: dict[str, int], expiring: tuple[uuid.UUID, dt.datetime]) -> None:
    credential_id, until = expiring
    assert _run(app, until + DAY) == []  # already expired
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="suspend", reason="audit", actor=None)
        db.session.commit()
    assert _run(app, until - 30 * DAY) == []
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="unsuspend", reason="audit done", actor=None)
        db.session.get_one(User, people["therapist"]).active = False
        db.session.commit()
    assert _run(app, until - 30 * DAY) == []
    with app.test_request_context():
        db.session.get_one(User, people["therapist"]).active = True
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="revoke", reason="error", actor=None)
        db.session.commit()
    assert _run(app, until - 30 * DAY) == []
    assert _reminders(app) == []
    # superseded (renewed or re-issued): see test_renewal.test_a_renewed_credential_gets_no_more_reminders


def test_no_policy_reminders_no_notice(app: Flask, people: dict[str, int]) -> None:
    credential_id = issue_under_policy(app, people, reminder_days="")
    until = credential_row(app, credential_id).valid_until
    assert until is not None
    assert _run(app, until - 7 * DAY) == []


def test_the_command_sends_once(app: Flask, people: dict[str, int], runner: Any) -> None:
    # a one-month policy with a 31-day lead: due today, with the real clock the command runs on
    credential_id = issue_under_policy(app, people, validity_months="1", required_credits="", category_minimums="",
                                       reminder_days="31")
    dry = runner.invoke(args=["recertification", "remind", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would send 1 reminder(s)." in dry.output
    first = runner.invoke(args=["recertification", "remind"])
    assert first.exit_code == 0, first.output
    assert f"{credential_id}\tther@example.test\t31-day reminder" in first.output
    assert first.output.endswith("Sent 1 reminder(s).\n")
    second = runner.invoke(args=["recertification", "remind"])
    assert second.output == "Sent 0 reminder(s).\n"
    assert len(_reminders(app)) == 1
    body = _reminders(app)[0][2]
    assert "Ask your supervisor or the administrator to issue its renewal." in body


# --- two runs at once: one notice; both databases ----------------------------------------------------------------


def test_concurrent_runs_send_each_reminder_once(race_app: Flask) -> None:
    people = seed_people(race_app)
    credential_id = issue_under_policy(race_app, people)
    until = credential_row(race_app, credential_id).valid_until
    assert until is not None

    def attempt(_n: int) -> int:
        from issuer.platform import database

        with race_app.test_request_context(), database.writing():
            sent = reminders.send_due(db.session, now=until - 30 * DAY)
            db.session.commit()
            return len(sent)

    outcomes = race(5, attempt)
    assert sorted(outcomes) == [0, 0, 0, 0, 1], outcomes
    assert len(_reminders(race_app)) == 1
    assert _claims(race_app, credential_id) == [30, 90]
