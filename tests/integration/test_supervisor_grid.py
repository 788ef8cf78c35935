"""The supervisor's grid: several statements recorded in one request, errors next to their field with what was typed
kept, the confirmation before issuing, and a draft that survives an ended session."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.models import AuditEvent, Credential, Framework, StatementMark, User, utcnow
from issuer.web.drafts import DRAFT_KEY
from tests.conftest import PASSWORD, AuthActions
from tests.integration.helpers import race

JSON = {"Accept": "application/json"}


def levels(app: Flask) -> list[tuple[int, list[int]]]:
    with app.app_context():
        framework = db.session.scalars(select(Framework)).one()
        return [(level.id, [s.id for s in level.statements]) for level in framework.levels]


def marks(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StatementMark)) or 0


def record_url(therapist: int, level: int) -> str:
    return f"/supervisor/therapists/{therapist}/levels/{level}/record"


def today() -> str:
    return utcnow().date().isoformat()


@pytest.fixture
def signed_in(auth: AuthActions, people: dict[str, int]) -> AuthActions:
    assert auth.login("sup@example.test").status_code == 302
    return auth


# --- several statements at once ----------------------------------------------------------------------------------


def test_three_statements_are_recorded_in_one_request_with_one_date_and_note(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    response = signed_in.post(record_url(people["therapist"], level),
                              {"statement_ids": ids[:3], "observed_on": "2026-11-20", "note": "Group session."})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/supervisor/therapists/{people['therapist']}#level-emerging")
    with app.app_context():
        rows = db.session.scalars(select(StatementMark).order_by(StatementMark.id)).all()
        assert [(m.statement_id, m.observed_on, m.note, m.kind) for m in rows] == [
            (sid, dt.date(2026, 11, 20), "Group session.", "met") for sid in ids[:3]]
        assert {m.supervisor_id for m in rows} == {people["supervisor"]}
        events = db.session.scalars(select(AuditEvent).filter_by(action="statement.marked")).all()
        assert len(events) == 3
    page = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert "(3/10 met)" in page
    assert "Recorded: " in page


def test_the_scripts_request_gets_the_changed_rows_and_the_progress(
        app: Flask, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    response = signed_in.post(record_url(people["therapist"], level),
                              {"statement_ids": [ids[1], ids[4]], "observed_on": today(), "note": ""}, headers=JSON)
    assert response.status_code == 200
    body = response.get_json()
    assert body["recorded"] == [ids[1], ids[4]]
    assert body["message"].startswith("Recorded: ")
    assert (body["met"], body["total"]) == (2, 10)
    assert set(body["rows"]) == {str(i) for i in ids}
    assert "Met</span> on" in body["rows"][str(ids[1])]
    assert 'name="statement_ids"' in body["rows"][str(ids[0])]
    assert "2/10 met" in body["progress"]


def test_the_grid_has_one_form_per_level_and_no_hidden_forms(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    page = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert page.count('class="record-form"') == 4
    assert "<details" not in page
    assert page.count('name="statement_ids"') == 40
    # Every box has a name of its own: the statement and its level (names repeat across levels).
    names = re.findall(r'<span class="visually-hidden">Record \u2018([^<]+)\u2019 \(([^)]+)\) as met</span>', page)
    assert len(names) == 40
    assert len(set(names)) == 40
    assert '<script type="module" src="/static/supervisor-grid.js"></script>' in page


# --- ids the client sends are not trusted -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["another level", "unknown", "not a number", "repeated", "negative"])
def test_ids_that_are_not_this_levels_statements_are_refused_and_nothing_is_written(
        app: Flask, signed_in: AuthActions, people: dict[str, int], bad: str) -> None:
    (level, ids), (_, other_level_ids), *_ = levels(app)
    extra = {"another level": other_level_ids[0], "unknown": 999_999, "not a number": "1 OR 1=1",
             "repeated": ids[0], "negative": -3}[bad]
    for headers in ({}, JSON):
        response = signed_in.post(record_url(people["therapist"], level),
                                  {"statement_ids": [ids[0], extra], "observed_on": today()}, headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)
        if headers:
            assert set(response.get_json()["fields"]) == {"statement_ids"}
        assert marks(app) == 0


def test_another_supervisors_therapist_is_404_and_nothing_is_written(
        app: Flask, client: FlaskClient, auth: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    assert auth.login("other@example.test").status_code == 302
    response = auth.post(record_url(people["therapist"], level), {"statement_ids": ids[:2], "observed_on": today()})
    assert response.status_code == 404
    assert "Taylor Therapist" not in response.get_data(as_text=True)
    assert marks(app) == 0


def test_a_statement_already_met_refuses_the_whole_list(app: Flask, signed_in: AuthActions,
                                                        people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    url = record_url(people["therapist"], level)
    assert signed_in.post(url, {"statement_ids": [ids[0]], "observed_on": today()}).status_code == 303
    response = signed_in.post(url, {"statement_ids": [ids[1], ids[0]], "observed_on": today()}, headers=JSON)
    assert response.status_code == 409
    assert response.get_json()["message"].startswith("Already recorded as met: ")
    assert marks(app) == 1
    page = signed_in.post(url, {"statement_ids": [ids[1], ids[0]], "observed_on": today(), "note": "kept"})
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "Already recorded as met: " in text
    assert ">kept</textarea>" in text
    assert marks(app) == 1


def test_a_complete_level_records_nothing_more(app: Flask, signed_in: AuthActions, people: dict[str, int],
                                               issued: Any) -> None:
    (level, ids), *_ = levels(app)
    response = signed_in.post(record_url(people["therapist"], level), {"statement_ids": ids[:1],
                                                                        "observed_on": today()}, headers=JSON)
    assert response.status_code == 409
    assert response.get_json()["message"] == "Emerging is already complete; its credential is issued."


def test_a_double_submit_records_each_statement_once_and_never_answers_5xx(racing_app: Flask) -> None:
    app = racing_app
    (level, ids), *_ = levels(app)
    with app.app_context():
        therapist_id = db.session.scalars(select(User.id).filter_by(email="ther@example.test")).one()
    clients = []
    for _ in range(6):
        client = app.test_client()
        actions = AuthActions(client)
        assert actions.login("sup@example.test").status_code == 302
        clients.append((actions, actions.csrf()))

    def attempt(n: int) -> int:
        actions, token = clients[n]
        response = actions.client.post(record_url(therapist_id, level), headers=JSON, data={
            "statement_ids": ids[:4], "observed_on": today(), "note": f"attempt {n}", "csrf_token": token})
        return int(response.status_code)

    outcomes = race(6, attempt)
    assert sorted(outcomes) == [200] + [409] * 5, outcomes
    with app.app_context():
        rows = db.session.scalars(select(StatementMark)).all()
        assert sorted(m.statement_id for m in rows) == sorted(ids[:4])
        assert len({m.note for m in rows}) == 1


# --- errors next to their field, what was typed kept -------------------------------------------------------------


def _field(page: str, name: str, level: int) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*\bid="{name}-{level}"[^>]*>', page)
    assert match, name
    return match.group(0)


@pytest.mark.parametrize(("field", "data", "message"), [
    ("observed_on", {"observed_on": "2999-01-01"}, "cannot be in the future"),
    ("observed_on", {"observed_on": "1990-01-01"}, "more than ten years ago"),
    ("observed_on", {"observed_on": "20/11/2026"}, "like 2026-11-20"),
    ("note", {"note": "x" * 2001}, "longer than 2000 characters"),
    ("note", {"note": "Bell \u0007 rang"}, "control character"),
    ("evidence_url", {"evidence_url": "javascript:alert(1)"}, "http(s) address"),
])
def test_an_error_is_shown_next_to_its_field_and_the_typed_values_are_kept(
        app: Flask, signed_in: AuthActions, people: dict[str, int], field: str, data: dict[str, str],
        message: str) -> None:
    (level, ids), *_ = levels(app)
    typed = {"observed_on": today(), "note": "Seen twice.", "evidence_url": "https://example.org/notes/1", **data}
    form: dict[str, Any] = {"statement_ids": ids[2:4], **typed}
    response = signed_in.post(record_url(people["therapist"], level), form)
    assert response.status_code == 400
    assert marks(app) == 0
    page = response.get_data(as_text=True)
    tag = _field(page, field, level)
    assert 'aria-invalid="true"' in tag
    described = re.search(r'aria-describedby="([^"]+)"', tag)
    assert described
    error = re.search(rf'<p class="field-error" id="{described.group(1)}">([^<]+)</p>', page)
    assert error
    assert message in html.unescape(error.group(1))
    # Every value comes back as typed; the ticked boxes are still ticked, the others not.
    assert f'value="{html.escape(typed["observed_on"])}"' in _field(page, "observed_on", level)
    assert f'value="{html.escape(typed["evidence_url"])}"' in _field(page, "evidence_url", level)
    assert f">{html.escape(typed['note'])}</textarea>" in page
    for sid in ids:
        box = re.search(rf'<input type="checkbox" id="pick-{sid}"[^>]*>', page)
        assert box
        assert (" checked" in box.group(0)) == (sid in ids[2:4])
    json_answer = signed_in.post(record_url(people["therapist"], level), form, headers=JSON)
    assert json_answer.status_code == 400
    assert list(json_answer.get_json()["fields"]) == [field]


def test_nothing_ticked_is_an_error_on_the_list(app: Flask, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, _ids), *_ = levels(app)
    response = signed_in.post(record_url(people["therapist"], level), {"observed_on": today(), "note": "typed"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="set-{level}" aria-describedby="err-{level}-statement_ids"' in page
    assert f'<p class="field-error" id="err-{level}-statement_ids">Choose at least one statement' in page
    assert ">typed</textarea>" in page


def test_the_withdraw_page_keeps_the_form_out_of_the_grid_and_its_error_next_to_the_field(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    signed_in.post(record_url(people["therapist"], level), {"statement_ids": ids[:1], "observed_on": today()})
    with app.app_context():
        mark_id = db.session.scalars(select(StatementMark.id)).one()
    url = f"/supervisor/therapists/{people['therapist']}/marks/{mark_id}/undo"
    assert 'name="reason"' in client.get(url).get_data(as_text=True)
    refused = signed_in.post(url, {"reason": "   "})
    assert refused.status_code == 400
    assert 'aria-describedby="reason-error"' in refused.get_data(as_text=True)
    assert signed_in.post(url, {"reason": "Wrong therapist."}).status_code == 302
    assert "(0/10 met)" in client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)


# --- the confirmation before issuing -----------------------------------------------------------------------------


def _record_all(signed_in: AuthActions, therapist: int, level: int, ids: list[int]) -> None:
    response = signed_in.post(record_url(therapist, level),
                              {"statement_ids": ids, "observed_on": "2026-11-20", "note": "Seen."})
    assert response.status_code == 303


def test_the_confirmation_shows_what_will_be_signed_then_issues(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    _record_all(signed_in, people["therapist"], level, ids)
    grid = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    confirm_url = f"/supervisor/therapists/{people['therapist']}/levels/{level}/complete"
    assert f'href="{confirm_url}">10/10 · Complete Emerging</a>' in grid
    page = client.get(confirm_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    with app.app_context():
        framework = db.session.scalars(select(Framework)).one()
        names = [s.name for s in framework.levels[0].statements]
    for expected in ("Taylor Therapist", "ther@example.test", "Music Therapists: Emerging", "2026-11-20",
                     "Sam Supervisor", app.config["ISSUER_NAME"], "did:web:", *names):
        assert html.escape(expected, quote=False) in text, expected
    assert text.count("<span class=\"status-ok\">Met</span> on 2026-11-20") == 10
    assert marks(app) == 10
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 0  # looking issues nothing
    reviewed = re.search(r'name="reviewed" value="([^"]+)"', text)
    assert reviewed
    response = signed_in.post(confirm_url, {"reviewed": reviewed.group(1)})
    assert response.status_code == 302
    assert "/credentials/" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 1
    # The confirmation of a level already complete leads to its credential.
    assert client.get(confirm_url).headers["Location"] == response.headers["Location"]


def test_a_record_changed_since_the_confirmation_issues_nothing(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    _record_all(signed_in, people["therapist"], level, ids)
    confirm_url = f"/supervisor/therapists/{people['therapist']}/levels/{level}/complete"
    reviewed = re.search(r'name="reviewed" value="([^"]+)"', client.get(confirm_url).get_data(as_text=True))
    assert reviewed
    with app.app_context():
        mark_id = db.session.scalars(select(StatementMark.id).order_by(StatementMark.id)).first()
    signed_in.post(f"/supervisor/therapists/{people['therapist']}/marks/{mark_id}/undo", {"reason": "Re-observed."})
    _record_all(signed_in, people["therapist"], level, ids[:1])  # met again, by another mark: not what was shown
    response = signed_in.post(confirm_url, {"reviewed": reviewed.group(1)})
    assert response.status_code == 409
    assert "changed since this page was opened" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 0


def test_an_incomplete_level_has_no_issue_button(app: Flask, client: FlaskClient, signed_in: AuthActions,
                                                  people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    _record_all(signed_in, people["therapist"], level, ids[:7])
    grid = client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert '<span class="progress-count">7/10 met</span>' in grid
    page = client.get(f"/supervisor/therapists/{people['therapist']}/levels/{level}/complete").get_data(as_text=True)
    assert "cannot be completed yet: 3 of its 10 statements are not met" in page
    assert "Sign and issue" not in page


# --- an ended session or an expired form: sign in and come back to the draft -------------------------------------


def test_a_post_after_the_session_ended_goes_to_sign_in_and_back_to_the_draft(
        app: Flask, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    client = app.test_client()  # no session at all: the cookie expired, or the browser was closed
    grid = f"/supervisor/therapists/{people['therapist']}"
    response = client.post(record_url(people["therapist"], level), data={
        "statement_ids": ids[3:5], "observed_on": "2026-11-21", "note": "Typed before the session ended.",
        "csrf_token": "stale"})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [grid]
    assert marks(app) == 0
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing was saved" in login_page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    assert token
    signed_in = client.post(response.headers["Location"], data={
        "email": "sup@example.test", "password": PASSWORD, "csrf_token": token.group(1)})
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == grid
    page = client.get(grid).get_data(as_text=True)
    assert ">Typed before the session ended.</textarea>" in page
    assert 'value="2026-11-21"' in _field(page, "observed_on", level)
    for sid in ids:
        box = re.search(rf'<input type="checkbox" id="pick-{sid}"[^>]*>', page)
        assert box
        assert (" checked" in box.group(0)) == (sid in ids[3:5])
    # Shown once: the next visit is a clean form.
    assert "Typed before the session ended." not in client.get(grid).get_data(as_text=True)


def test_the_script_is_told_where_to_sign_in(app: Flask, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    response = app.test_client().post(record_url(people["therapist"], level), headers=JSON,
                                      data={"statement_ids": ids[:1], "observed_on": today()})
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "session_expired"
    assert body["login"] == f"/login?next=/supervisor/therapists/{people['therapist']}"


def test_a_session_ended_elsewhere_keeps_the_draft_too(app: Flask, people: dict[str, int]) -> None:
    """Signed out on another device: the cookie still holds a CSRF secret, but no longer a signed-in person."""
    (level, ids), *_ = levels(app)
    laptop, phone = app.test_client(), app.test_client()
    assert AuthActions(laptop).login("sup@example.test").status_code == 302
    assert AuthActions(phone).login("sup@example.test").status_code == 302
    assert AuthActions(phone).logout().status_code == 302
    response = AuthActions(laptop).post(record_url(people["therapist"], level),
                                        {"statement_ids": ids[:2], "observed_on": today(), "note": "kept"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    with laptop.session_transaction() as stored:
        assert stored[DRAFT_KEY]["statement_ids"] == ids[:2]
        assert stored[DRAFT_KEY]["note"] == "kept"
    assert marks(app) == 0


def test_a_cross_site_post_cannot_plant_a_draft(app: Flask, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    client = app.test_client()
    response = client.post(record_url(people["therapist"], level), headers={"Origin": "https://evil.example"},
                           data={"statement_ids": ids, "observed_on": today(), "note": "planted"})
    assert response.status_code == 303
    with client.session_transaction() as stored:
        assert DRAFT_KEY not in stored


def test_an_expired_form_while_signed_in_comes_back_with_the_draft(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    data = {"statement_ids": ids[:2], "observed_on": today(), "note": "Long page.", "csrf_token": "expired"}
    response = client.post(record_url(people["therapist"], level), data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/supervisor/therapists/{people['therapist']}#level-emerging"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing was saved" in page
    assert ">Long page.</textarea>" in page
    assert "Bad request" not in page
    # The script is given a fresh token, and the same form then records.
    answer = client.post(record_url(people["therapist"], level), data=data, headers=JSON)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "form_expired"
    retried = client.post(record_url(people["therapist"], level), headers=JSON,
                          data={**data, "csrf_token": answer.get_json()["csrfToken"]})
    assert retried.status_code == 200
    assert marks(app) == 2


# --- one evidence file for several statements ---------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_one_evidence_file_is_stored_once_for_every_statement_recorded(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    response = client.post(record_url(people["therapist"], level), content_type="multipart/form-data", data={
        "statement_ids": [str(i) for i in ids[:3]], "observed_on": today(), "csrf_token": signed_in.csrf(),
        "evidence_file": (io.BytesIO(PNG), "session.png")})
    assert response.status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(StatementMark)).all()
        assert len(rows) == 3
        assert len({m.evidence_file for m in rows}) == 1
        assert {(m.evidence_type, m.evidence_filename) for m in rows} == {("image/png", "session.png")}
    uploads = Path(app.config["ISSUER_UPLOADS_DIR"])
    assert [p.read_bytes() for p in uploads.iterdir()] == [PNG]
    for mark in rows:
        assert client.get(f"/evidence/{mark.id}").data == PNG


def test_a_refused_evidence_file_is_told_beside_its_field_and_nothing_is_kept(
        app: Flask, client: FlaskClient, signed_in: AuthActions, people: dict[str, int]) -> None:
    (level, ids), *_ = levels(app)
    response = client.post(record_url(people["therapist"], level), content_type="multipart/form-data", data={
        "statement_ids": [str(i) for i in ids[:2]], "observed_on": today(), "note": "With a file.",
        "csrf_token": signed_in.csrf(), "evidence_file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "run.exe")})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'aria-describedby="err-{level}-evidence_file"' in page
    assert "Evidence files must be PDF, PNG or JPEG. Choose the file again." in page
    assert ">With a file.</textarea>" in page
    assert marks(app) == 0
    uploads = Path(app.config["ISSUER_UPLOADS_DIR"])
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_note_too_long_for_the_cookie_is_not_kept_and_the_page_says_so(app: Flask, people: dict[str, int]) -> None:
    """The draft waits in the signed session cookie: a long note (the script keeps it in the browser) is dropped
    there rather than making a cookie the browser would refuse, and the grid asks for it again."""
    (level, ids), *_ = levels(app)
    client = app.test_client()
    grid = f"/supervisor/therapists/{people['therapist']}"
    client.post(record_url(people["therapist"], level), data={
        "statement_ids": ids[:2], "observed_on": today(), "note": "\u00e9t\u00e9 " * 400})
    assert AuthActions(client).login("sup@example.test").status_code == 302
    page = client.get(grid).get_data(as_text=True)
    assert "Your note was too long to keep while you signed in again" in page
    assert f'id="note-{level}" name="note" rows="3"></textarea>' in page
    assert all(re.search(rf'id="pick-{sid}"[^>]* checked', page) for sid in ids[:2])
