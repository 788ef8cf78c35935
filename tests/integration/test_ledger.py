"""The continuing-education ledger (issue 19, part 2 and 7): recording, approving and returning activities, totals
per cycle and category, and the refusals: minutes out of range, dates outside the cycle or in the future, a second
decision (409), concurrent decisions (never a 5xx). Both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.models import AuditEvent, CreditActivity, User, utcnow
from issuer.recertification import ledger, renewal
from tests.integration.helpers import race, seed_people
from tests.integration.ledger_helpers import bearer, open_cycle, set_policy, token_for

TODAY = utcnow().date()


@pytest.fixture
def cycle(app: Flask, people: dict[str, int]) -> dict[str, Any]:
    """An open cycle (begun 30 days ago) and a token for the therapist, the supervisor, the other one and the
    admin."""
    open_cycle(app, people)
    return {role: token_for(app, people[role]) for role in ("therapist", "supervisor", "other", "admin")}


def activity(**changes: Any) -> dict[str, Any]:
    body = {"title": "Ethics in telehealth", "provider": "AMTA", "activityOn": TODAY.isoformat(), "minutes": 150,
            "category": "ethics", "evidenceUrl": "https://example.test/certificate/1"}
    body.update(changes)
    return body


def post(client: FlaskClient, token: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1{path}", json=body, headers=bearer(token)) if body is not None else \
        client.post(f"/api/v1{path}", headers=bearer(token))


def stored(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(CreditActivity.id))) or 0)


def test_therapist_records_supervisor_approves_and_totals_count_per_category(
        app: Flask, client: FlaskClient, people: dict[str, int], cycle: dict[str, str]) -> None:
    therapist = people["therapist"]
    ethics = post(client, cycle["therapist"], f"/therapists/{therapist}/activities", activity())
    assert ethics.status_code == 201, ethics.get_json()
    assert ethics.get_json()["state"] == "submitted"
    assert ethics.get_json()["credits"] == "3"
    clinical = post(client, cycle["supervisor"], f"/therapists/{therapist}/activities",
                    activity(title="Neonatal music therapy", minutes=75, category="Clinical  Practice"))
    assert clinical.status_code == 201
    assert clinical.get_json()["category"] == "clinical practice"
    returned = post(client, cycle["therapist"], f"/therapists/{therapist}/activities",
                    activity(title="Not CE", minutes=600, category="research"))
    pending = post(client, cycle["therapist"], f"/therapists/{therapist}/activities",
                   activity(title="Pending", minutes=50, category="ethics"))
    assert returned.status_code == pending.status_code == 201

    for item in (ethics, clinical):
        answer = post(client, cycle["supervisor"], f"/activities/{item.get_json()['id']}/approve")
        assert answer.status_code == 200
        assert answer.get_json()["state"] == "approved"
        assert answer.get_json()["decidedBy"] == "Sam Supervisor"
    sent_back = post(client, cycle["admin"], f"/activities/{returned.get_json()['id']}/return",
                     {"reason": "A staff meeting is not continuing education."})
    assert sent_back.status_code == 200
    assert sent_back.get_json()["state"] == "returned"
    assert sent_back.get_json()["reason"] == "A staff meeting is not continuing education."

    with app.app_context():
        cycle_now = ledger.current_cycle(db.session, db.session.get_one(User, therapist))
        assert cycle_now is not None
        totals = ledger.credit_totals(db.session, therapist, cycle_now)
        assert totals.total == Decimal("4.50")  # approved only: 3 + 1.5; the returned 12 and pending 1 do not count
        assert totals.by_category == {"ethics": Decimal("3.00"), "clinical practice": Decimal("1.50")}
        assert [a.title for a in ledger.approved_activities(db.session, therapist, cycle_now)] == [
            "Ethics in telehealth", "Neonatal music therapy"]
        events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("ce.%"))).all()
        assert sorted(events) == ["ce.approved", "ce.approved", "ce.recorded", "ce.recorded", "ce.recorded",
                                  "ce.recorded", "ce.returned"]

    progress = client.get(f"/api/v1/therapists/{therapist}/progress", headers=bearer(cycle["therapist"])).get_json()
    assert progress["approvedCredits"] == "4.5"
    assert progress["pendingCredits"] == "1"
    assert progress["approvedByCategory"] == {"clinical practice": "1.5", "ethics": "3"}
    assert progress["requiredCredits"] == "100"
    assert progress["categoryMinimums"] == {"ethics": "3"}
    assert progress["unmet"] == ["95.5 more credit(s): 4.5 of 100 approved"]
    assert progress["cycle"]["daysLeft"] > 1700


@pytest.mark.parametrize(("minutes", "message"), [
    (-30, "more than 0"), (0, "more than 0"), (1441, "at most 24 hours"), (10**12, "at most 24 hours"),
    ("90", "whole number"), (90.5, "whole number"), (True, "whole number"), (None, "whole number"),
])
def test_negative_zero_and_absurd_minutes_are_refused(app: Flask, client: FlaskClient, people: dict[str, int],
                                                      cycle: dict[str, str], minutes: Any, message: str) -> None:
    answer = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities",
                  activity(minutes=minutes))
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    assert stored(app) == 0


def test_a_full_day_is_the_longest_activity(app: Flask, client: FlaskClient, people: dict[str, int],
                                             cycle: dict[str, str]) -> None:
    answer = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities", activity(minutes=1440))
    assert answer.status_code == 201
    assert answer.get_json()["credits"] == "28.8"


@pytest.mark.parametrize(("day", "message"), [
    (TODAY + dt.timedelta(days=1), "cannot be in the future"),
    (TODAY - dt.timedelta(days=31), "outside the current cycle"),
    (TODAY - dt.timedelta(days=4000), "outside the current cycle"),
])
def test_dates_outside_the_cycle_or_in_the_future_are_refused(app: Flask, client: FlaskClient,
                                                               people: dict[str, int], cycle: dict[str, str],
                                                               day: dt.date, message: str) -> None:
    answer = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities",
                  activity(activityOn=day.isoformat()))
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    assert stored(app) == 0


def test_the_first_day_of_the_cycle_counts(app: Flask, client: FlaskClient, people: dict[str, int],
                                           cycle: dict[str, str]) -> None:
    first = (TODAY - dt.timedelta(days=30)).isoformat()
    answer = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities",
                  activity(activityOn=first))
    assert answer.status_code == 201, answer.get_json()


def test_no_cycle_no_activity(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    token = token_for(app, people["therapist"])
    answer = post(client, token, f"/therapists/{people['therapist']}/activities", activity())
    assert answer.status_code == 400
    assert "no current credential that expires" in answer.get_json()["message"]
    assert client.get(f"/api/v1/therapists/{people['therapist']}/progress",
                      headers=bearer(token)).get_json() == {"cycle": None}


@pytest.mark.parametrize(("change", "message"), [
    ({"category": "astrology"}, "category must be one of"),
    ({"title": "  "}, "give the title"),
    ({"provider": "x" * 201}, "longer than 200"),
    ({"title": "bell\u0007"}, "control character"),
    ({"evidenceUrl": "javascript:alert(1)"}, "http(s)"),
    ({"activityOn": "yesterday"}, "date like"),
    ({"title": 5}, "must be a string"),
])
def test_other_bad_fields_are_refused_with_a_message(app: Flask, client: FlaskClient, people: dict[str, int],
                                                     cycle: dict[str, str], change: dict[str, Any],
                                                     message: str) -> None:
    answer = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities", activity(**change))
    assert answer.status_code == 400
    assert message in answer.get_json()["message"]
    assert stored(app) == 0


def test_second_approval_is_409_and_a_decision_is_final(app: Flask, client: FlaskClient, people: dict[str, int],
                                                        cycle: dict[str, str]) -> None:
    made = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities", activity()).get_json()
    assert post(client, cycle["supervisor"], f"/activities/{made['id']}/approve").status_code == 200
    again = post(client, cycle["admin"], f"/activities/{made['id']}/approve")
    assert again.status_code == 409
    assert "already approved by Sam Supervisor" in again.get_json()["message"]
    back = post(client, cycle["supervisor"], f"/activities/{made['id']}/return", {"reason": "Changed my mind."})
    assert back.status_code == 409
    with app.app_context():
        row = db.session.get_one(CreditActivity, made["id"])
        assert (row.state, row.reason) == ("approved", None)


def test_return_needs_a_reason(app: Flask, client: FlaskClient, people: dict[str, int],
                               cycle: dict[str, str]) -> None:
    made = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities", activity()).get_json()
    answer = post(client, cycle["supervisor"], f"/activities/{made['id']}/return", {"reason": " "})
    assert answer.status_code == 400
    assert "give the reason" in answer.get_json()["message"]
    assert post(client, cycle["supervisor"], f"/activities/{made['id']}/return").status_code == 400


def test_who_may_record_and_decide(app: Flask, client: FlaskClient, people: dict[str, int],
                                   cycle: dict[str, str]) -> None:
    therapist = people["therapist"]
    # An unassigned supervisor sees no such therapist and no such activity.
    assert post(client, cycle["other"], f"/therapists/{therapist}/activities", activity()).status_code == 404
    made = post(client, cycle["therapist"], f"/therapists/{therapist}/activities", activity()).get_json()
    assert post(client, cycle["other"], f"/activities/{made['id']}/approve").status_code == 404
    # The therapist cannot approve their own activity; an admin cannot record one.
    assert post(client, cycle["therapist"], f"/activities/{made['id']}/approve").status_code == 403
    assert post(client, cycle["admin"], f"/therapists/{therapist}/activities", activity()).status_code == 403
    with app.app_context():
        assert db.session.get_one(CreditActivity, made["id"]).state == "submitted"


def test_idempotent_recording(app: Flask, client: FlaskClient, people: dict[str, int], cycle: dict[str, str]) -> None:
    headers = {**bearer(cycle["therapist"]), "Idempotency-Key": "ce-1"}
    path = f"/api/v1/therapists/{people['therapist']}/activities"
    first = client.post(path, json=activity(), headers=headers)
    second = client.post(path, json=activity(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert stored(app) == 1


# --- concurrency: both databases, real concurrent transactions ------------------------------------------------------


def test_concurrent_decisions_one_wins_the_rest_409_never_5xx(race_app: Flask) -> None:
    app = race_app
    people = seed_people(app)
    open_cycle(app, people)
    tokens = [token_for(app, people["supervisor"], "s"), token_for(app, people["admin"], "a")]
    made = app.test_client().post(f"/api/v1/therapists/{people['therapist']}/activities", json=activity(),
                                  headers=bearer(token_for(app, people["therapist"]))).get_json()
    count = 8
    clients = [app.test_client() for _ in range(count)]

    def attempt(n: int) -> int:
        action = "approve" if n % 2 == 0 else "return"
        return clients[n].post(f"/api/v1/activities/{made['id']}/{action}", json={"reason": f"racer {n}"},
                               headers=bearer(tokens[n % 2])).status_code

    outcomes = race(count, attempt)
    assert all(isinstance(o, int) and o < 500 for o in outcomes), outcomes
    assert sorted(outcomes) == [200] + [409] * (count - 1)
    with app.app_context():
        row = db.session.get_one(CreditActivity, made["id"])
        winner = outcomes.index(200)
        assert row.state == ("approved" if winner % 2 == 0 else "returned")
        decisions = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(["ce.approved", "ce.returned"])))
        assert decisions == 1


def test_after_an_early_renewal_the_cycle_is_the_renewals(app: Flask, client: FlaskClient, people: dict[str, int]
                                                          ) -> None:
    credential_id = open_cycle(app, people)
    set_policy(app, months=60, required="1", ethics=None)
    tokens = {role: token_for(app, people[role]) for role in ("therapist", "supervisor")}
    made = post(client, tokens["therapist"], f"/therapists/{people['therapist']}/activities", activity()).get_json()
    assert post(client, tokens["supervisor"], f"/activities/{made['id']}/approve").status_code == 200
    with app.app_context():
        renewed = renewal.renew(db.session, credential_id=credential_id,
                                actor=db.session.get_one(User, people["supervisor"]))
        db.session.commit()
        starts = renewed.valid_from.date()
        assert ledger.current_credential(db.session, db.session.get_one(User, people["therapist"])).id == renewed.id
    answer = post(client, tokens["therapist"], f"/therapists/{people['therapist']}/activities", activity())
    assert answer.status_code == 400
    assert f"outside the current cycle ({starts.isoformat()} to" in answer.get_json()["message"]
    assert "the next cycle has not begun" in answer.get_json()["message"]
    progress = client.get(f"/api/v1/therapists/{people['therapist']}/progress",
                          headers=bearer(tokens["therapist"])).get_json()
    assert progress["cycle"]["firstDay"] == starts.isoformat()
    assert progress["approvedCredits"] == "0"


def test_a_day_holds_at_most_24_hours_of_activities(app: Flask, client: FlaskClient, people: dict[str, int],
                                                     cycle: dict[str, str]) -> None:
    path = f"/therapists/{people['therapist']}/activities"
    assert post(client, cycle["therapist"], path, activity(minutes=1000)).status_code == 201
    refused = post(client, cycle["therapist"], path, activity(minutes=441))
    assert refused.status_code == 400
    assert "already holds 1000 minutes" in refused.get_json()["message"]
    assert post(client, cycle["therapist"], path, activity(minutes=440)).status_code == 201
    assert stored(app) == 2


def test_hostile_bodies_are_refused_cleanly(app: Flask, client: FlaskClient, people: dict[str, int],
                                            cycle: dict[str, str]) -> None:
    path = f"/api/v1/therapists/{people['therapist']}/activities"
    headers = {**bearer(cycle["therapist"]), "Content-Type": "application/json"}
    huge = client.post(path, data=b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}', headers=headers)
    assert huge.status_code == 413
    nested = client.post(path, data=b"[" * 5000 + b"]" * 5000, headers=headers)
    assert nested.status_code == 400
    duplicate = client.post(path, data=b'{"minutes": 60, "minutes": -60}', headers=headers)
    assert duplicate.status_code == 400
    assert post(client, cycle["therapist"], path.removeprefix("/api/v1"), activity(minutes=1e308)).status_code == 400
    not_object = client.post(path, data=b"[1, 2]", headers=headers)
    assert not_object.status_code == 400
    assert "JSON object" in not_object.get_json()["message"]
    assert stored(app) == 0


def test_an_approval_replayed_with_its_idempotency_key_answers_the_same(app: Flask, client: FlaskClient,
                                                                        people: dict[str, int],
                                                                        cycle: dict[str, str]) -> None:
    made = post(client, cycle["therapist"], f"/therapists/{people['therapist']}/activities", activity()).get_json()
    headers = {**bearer(cycle["supervisor"]), "Idempotency-Key": "approve-1"}
    first = client.post(f"/api/v1/activities/{made['id']}/approve", headers=headers)
    replay = client.post(f"/api/v1/activities/{made['id']}/approve", headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    fresh = client.post(f"/api/v1/activities/{made['id']}/approve", headers=bearer(cycle["supervisor"]))
    assert fresh.status_code == 409  # without the key it is a second approval


def test_concurrent_entries_never_make_a_day_longer_than_24_hours(race_app: Flask) -> None:
    app = race_app
    people = seed_people(app)
    open_cycle(app, people)
    token = token_for(app, people["therapist"])
    count = 6
    clients = [app.test_client() for _ in range(count)]

    def attempt(n: int) -> int:
        return clients[n].post(f"/api/v1/therapists/{people['therapist']}/activities",
                               json=activity(minutes=500, title=f"Racer {n}"), headers=bearer(token)).status_code

    outcomes = race(count, attempt)
    assert all(isinstance(o, int) and o < 500 for o in outcomes), outcomes
    assert sorted(outcomes) == [201, 201] + [400] * (count - 2)  # 1,000 minutes fit in a day, 1,500 do not
    with app.app_context():
        assert db.session.scalar(select(func.sum(CreditActivity.minutes))) == 1000
