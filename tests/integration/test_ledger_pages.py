"""The ledger's pages (issue 19, parts 2, 4 and 6): the therapist's progress page and form, the supervisor's
approve and return, the administrator's qualifications and reports, and CSV export escaped against formula
injection. Both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.extensions import db
from issuer.models import Credential, CreditActivity, User, utcnow
from issuer.platform import spreadsheet
from issuer.recertification import ledger, reports
from tests.conftest import AuthActions
from tests.integration.ledger_helpers import open_cycle

TODAY = utcnow().date()


def form(**changes: Any) -> dict[str, Any]:
    data = {"title": "Ethics in telehealth", "provider": "AMTA", "activity_on": TODAY.isoformat(), "minutes": "150",
            "category": "ethics", "evidence_url": "", "evidence_note": "Certificate on file."}
    data.update(changes)
    return data


@pytest.fixture
def cycle(app: Flask, people: dict[str, int]) -> None:
    open_cycle(app, people)


def activities(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(a.title, a.state) for a in db.session.scalars(select(CreditActivity).order_by(CreditActivity.id))]


def test_therapist_records_and_sees_progress_supervisor_approves(app: Flask, client: FlaskClient,
                                                               people: dict[str, int], auth: AuthActions,
                                                               cycle: None) -> None:
    auth.login("ther@example.test")
    page = client.get("/me/continuing-education").get_data(as_text=True)
    assert "Credits by category in this cycle" in page
    assert "days left" in page
    assert "Approved: <strong>0</strong> of 100 credits" in page
    answer = auth.post("/me/continuing-education", form())
    assert answer.status_code == 302
    page = client.get("/me/continuing-education").get_data(as_text=True)
    assert "Recorded “Ethics in telehealth” (3 credits); it awaits approval." in page
    assert "Awaiting approval" in page
    assert "awaiting approval: 3" in page
    assert activities(app) == [("Ethics in telehealth", "submitted")]

    auth.logout()
    auth.login("sup@example.test")
    therapist_page = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert f"/supervisor/therapists/{people['therapist']}/continuing-education" in therapist_page
    with app.app_context():
        activity_id = db.session.scalar(select(CreditActivity.id))
    url = f"/supervisor/therapists/{people['therapist']}/continuing-education/{activity_id}/approve"
    assert auth.post(url).status_code == 302
    again = auth.post(url)
    assert again.status_code == 409
    assert "already approved by Sam Supervisor" in again.get_data(as_text=True)
    page = client.get(f"/supervisor/therapists/{people['therapist']}/continuing-education").get_data(as_text=True)
    assert "Approved: <strong>3</strong> of 100 credits" in page
    assert activities(app) == [("Ethics in telehealth", "approved")]


@pytest.mark.parametrize(("minutes", "message"), [
    ("-5", "more than 0"), ("0", "more than 0"), ("100000", "at most 24 hours"), ("1e3", "whole number"),
    ("1_000", "whole number"),
])
def test_bad_minutes_in_the_form_are_refused(app: Flask, client: FlaskClient, auth: AuthActions, cycle: None,
                                             minutes: str, message: str) -> None:
    auth.login("ther@example.test")
    answer = auth.post("/me/continuing-education", form(minutes=minutes))
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert activities(app) == []


def test_out_of_cycle_date_in_the_form(app: Flask, auth: AuthActions, cycle: None) -> None:
    auth.login("ther@example.test")
    answer = auth.post("/me/continuing-education", form(activity_on=(TODAY - dt.timedelta(days=400)).isoformat()))
    assert answer.status_code == 400
    assert "outside the current cycle" in answer.get_data(as_text=True)


def test_supervisor_returns_with_reason_and_other_supervisor_cannot(app: Flask, client: FlaskClient,
                                                                   people: dict[str, int], auth: AuthActions,
                                                                   cycle: None) -> None:
    auth.login("sup@example.test")
    assert auth.post(f"/supervisor/therapists/{people['therapist']}/continuing-education", form()).status_code == 302
    with app.app_context():
        activity_id = db.session.scalar(select(CreditActivity.id))
    base = f"/supervisor/therapists/{people['therapist']}/continuing-education/{activity_id}"
    assert auth.post(f"{base}/return", {"reason": ""}).status_code == 400
    auth.logout()
    auth.login("other@example.test")
    assert auth.post(f"{base}/approve").status_code == 404
    auth.logout()
    auth.login("sup@example.test")
    assert auth.post(f"{base}/return", {"reason": "Not accredited."}).status_code == 302
    assert activities(app) == [("Ethics in telehealth", "returned")]
    page = client.get(f"/supervisor/therapists/{people['therapist']}/continuing-education").get_data(as_text=True)
    assert "Returned" in page
    assert "Not accredited." in page


def test_supervisor_logs_hours_on_the_page(app: Flask, client: FlaskClient, people: dict[str, int],
                                           auth: AuthActions) -> None:
    auth.login("sup@example.test")
    url = f"/supervisor/therapists/{people['therapist']}/hours"
    ok = auth.post(url, {"session_on": TODAY.isoformat(), "minutes": "90", "setting": "Hospice",
                         "population": "Older adults", "note": ""})
    assert ok.status_code == 302
    bad = auth.post(url, {"session_on": TODAY.isoformat(), "minutes": "-90", "setting": "Hospice",
                          "population": "Older adults"})
    assert bad.status_code == 400
    page = client.get(f"/supervisor/therapists/{people['therapist']}/continuing-education").get_data(as_text=True)
    assert "1.5 hours in 1 session" in page
    assert "Hospice" in page


def test_admin_records_a_qualification_and_record_pages_show_it(app: Flask, client: FlaskClient,
                                                                people: dict[str, int], auth: AuthActions,
                                                                issued: Any) -> None:
    auth.login("admin@example.test")
    answer = auth.post("/admin/qualifications", {"supervisor_id": str(people["supervisor"]), "credential_name": "MT-BC",
                                                 "number": "04567", "issuing_body": "CBMT", "valid_until": ""})
    assert answer.status_code == 302
    assert "MT-BC no. 04567 (CBMT)" in client.get("/admin/qualifications").get_data(as_text=True)
    refused = auth.post("/admin/qualifications", {"supervisor_id": str(people["therapist"]),
                                                  "credential_name": "MT-BC", "number": "1", "issuing_body": "CBMT"})
    assert refused.status_code == 400  # not a supervisor (nor one of the form's choices)
    auth.logout()
    auth.login("ther@example.test")
    assert "MT-BC no. 04567 (CBMT)" in client.get("/me").get_data(as_text=True)  # beside the supervisor's entries
    auth.logout()
    auth.login("sup@example.test")
    assert auth.post("/admin/qualifications", {"supervisor_id": str(people["supervisor"]), "credential_name": "X",
                                               "number": "1", "issuing_body": "Y"}).status_code == 403


def test_reports_list_expiring_and_behind_and_export_escaped_csv(app: Flask, client: FlaskClient,
                                                                 people: dict[str, int], auth: AuthActions) -> None:
    credential_id = open_cycle(app, people, started_days_ago=1000)
    with app.app_context():
        # The recipient as named at issuance is a formula; the credential expires in 20 days.
        credential = db.session.get_one(Credential, credential_id)
        credential.recipient_name = '=HYPERLINK("http://evil.test","Click")'
        credential.valid_until = utcnow() + dt.timedelta(days=20)
        db.session.get_one(User, people["therapist"]).name = "@SUM(A1:A9)"
        db.session.commit()
    auth.login("admin@example.test")
    page = client.get("/admin/reports?days=30").get_data(as_text=True)
    assert "Expiring in the next 30 days" in page
    assert "Emerging" in page
    assert "Nobody is behind." not in page  # 0 credits, most of the cycle gone
    assert "No credential expires within 10 days." in client.get("/admin/reports?days=10").get_data(as_text=True)
    for bad in ("0", "-1", "abc", "99999999999"):
        assert client.get(f"/admin/reports?days={bad}").status_code == 400

    expiring = client.get("/admin/reports/expiring.csv?days=30")
    assert expiring.status_code == 200
    assert expiring.mimetype == "text/csv"
    assert expiring.headers["Content-Disposition"] == 'attachment; filename="expiring-30-days.csv"'
    rows = list(csv.reader(io.StringIO(expiring.get_data(as_text=True))))
    assert rows[0] == list(reports.EXPIRING_HEADER)
    assert rows[1][0] == '\'=HYPERLINK("http://evil.test","Click")'
    assert rows[1][3] == "Emerging"
    assert rows[1][5] in ("19", "20")

    behind = client.get("/admin/reports/behind.csv")
    rows = list(csv.reader(io.StringIO(behind.get_data(as_text=True))))
    assert rows[0] == list(reports.BEHIND_HEADER)
    assert rows[1][0] == "'@SUM(A1:A9)"
    assert rows[1][5] == "0"
    assert rows[1][6] == "100"
    assert rows[1][9].startswith("100 more credit(s): 0 of 100 approved")
    auth.logout()
    auth.login("sup@example.test")
    assert client.get("/admin/reports/behind.csv").status_code == 403


def test_behind_means_below_the_whole_credits_the_elapsed_time_calls_for(app: Flask, client: FlaskClient,
                                                                        people: dict[str, int]) -> None:
    open_cycle(app, people, started_days_ago=1)
    with app.app_context():
        assert reports.behind(db.session) == []  # a day into five years: 100 x 1/1826 is 0.05, no whole credit yet
    open_cycle_at = utcnow() - dt.timedelta(days=100)
    with app.app_context():
        credential = db.session.scalars(select(Credential)).one()
        credential.valid_from = open_cycle_at
        credential.valid_until = open_cycle_at + dt.timedelta(days=1826)
        db.session.commit()
        late = reports.behind(db.session)
        assert [(r.therapist.name, str(r.expected), str(r.shortfall)) for r in late] == [
            ("Taylor Therapist", "5.00", "5.00")]  # 100 x 100/1826 = 5.47: 5 whole credits expected
    with app.app_context():
        therapist = db.session.get_one(User, people["therapist"])
        sup = db.session.get_one(User, people["supervisor"])
        made = ledger.record_activity(db.session, actor=therapist, therapist=therapist, title="Course",
                                      provider="AMTA", activity_on=TODAY, minutes=300, category="ethics")
        ledger.decide(db.session, actor=sup, activity=made, approve=True)
        db.session.commit()
        assert reports.behind(db.session) == []  # 6 credits approved


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), (12, "12"),
])
def test_safe_cell(value: object, expected: str) -> None:
    assert spreadsheet.safe_cell(value) == expected


def test_csv_quotes_commas_quotes_and_newlines() -> None:
    text = reports.to_csv(["a", "b"], [['x,"y"', "line\nbreak"]])
    assert text == 'a,b\r\n"x,""y""","line\nbreak"\r\n'
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ['x,"y"', "line\nbreak"]]
