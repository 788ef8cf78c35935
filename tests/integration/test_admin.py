"""Administration: accounts, assignments, keys, frameworks, settings, audit log."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer import settings
from issuer.extensions import db
from issuer.models import AuditEvent, Framework, IssuerKey, User
from tests.conftest import SEED_FRAMEWORK, AuthActions
from tests.integration.helpers import seed_people


@pytest.fixture
def admin(app: Flask, client: FlaskClient, auth: AuthActions) -> dict:
    people = seed_people(app)
    assert auth.login("admin@example.test").status_code == 302
    return people


def test_admin_creates_an_account_that_can_sign_in(app: Flask, auth: AuthActions, admin: dict) -> None:
    response = auth.post("/admin/users", {"email": "new@example.test", "name": "Nia New", "role": "therapist",
                                          "password": "a long enough password"})
    assert response.status_code == 302
    other = AuthActions(app.test_client())
    assert other.login("new@example.test", "a long enough password").status_code == 302


def test_duplicate_email_is_409(auth: AuthActions, admin: dict) -> None:
    response = auth.post("/admin/users", {"email": "ther@example.test", "name": "Again", "role": "therapist",
                                          "password": "a long enough password"})
    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(app: Flask, auth: AuthActions, admin: dict) -> None:
    assert auth.post(f"/admin/users/{admin['therapist']}/deactivate").status_code == 302
    assert AuthActions(app.test_client()).login("ther@example.test").status_code == 401


def test_assignment_through_the_form_reaches_the_supervisor(app: Flask, auth: AuthActions, admin: dict) -> None:
    response = auth.post("/admin/assignments", {"supervisor_id": admin["other"], "therapist_id": admin["therapist"]})
    assert response.status_code == 302
    other = app.test_client()
    AuthActions(other).login("other@example.test")
    assert "Taylor Therapist" in other.get("/supervisor/").get_data(as_text=True)


def test_audit_log_filters_by_action_and_actor(client: FlaskClient, auth: AuthActions, admin: dict) -> None:
    page = client.get("/admin/audit?action=login.succeeded").get_data(as_text=True)
    assert "login.succeeded" in page and "account.created" not in page.split("<tbody>")[1]
    by_actor = client.get("/admin/audit?actor=admin@example.test").get_data(as_text=True)
    assert "admin@example.test" in by_actor
    assert client.get("/admin/audit?from=not-a-date").status_code == 400


def test_broken_framework_upload_is_400_and_writes_nothing(app: Flask, client: FlaskClient, auth: AuthActions,
                                                           admin: dict) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    del data["framework"]["version"]
    response = client.post("/admin/frameworks", data={"csrf_token": auth.csrf("/admin/frameworks"),
                                                      "file": (io.BytesIO(json.dumps(data).encode()), "bad.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "bad.json: framework.version: is missing" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Framework)) == 1


def test_settings_toggle_persists(app: Flask, auth: AuthActions, admin: dict) -> None:
    assert auth.post("/admin/settings", {"allow_override": "y"}).status_code == 302
    with app.app_context():
        assert settings.override_allowed(db.session)


def test_rotate_keys_from_the_page(app: Flask, auth: AuthActions, admin: dict) -> None:
    assert auth.post("/admin/keys/rotate").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IssuerKey)) == 4
        assert db.session.scalars(select(AuditEvent).filter_by(action="keys.rotated")).one()


def test_names_are_escaped(app: Flask, client: FlaskClient, auth: AuthActions, admin: dict) -> None:
    with app.app_context():
        db.session.get(User, admin["therapist"]).name = "<script>alert(1)</script>"
        db.session.commit()
    html = client.get("/admin/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("path", ["/admin/users", "/admin/assignments", "/admin/keys", "/admin/frameworks",
                                  "/admin/settings", "/admin/audit"])
def test_only_admins_get_in(app: Flask, path: str) -> None:
    seed_people(app)
    assert app.test_client().get(path).status_code == 302
    for email in ("ther@example.test", "sup@example.test"):
        client = app.test_client()
        AuthActions(client).login(email)
        assert client.get(path).status_code == 403


def test_post_without_csrf_is_refused(client: FlaskClient, admin: dict) -> None:
    response = client.post("/admin/users", data={"email": "x@example.test", "name": "X", "role": "therapist",
                                                 "password": "a long enough password"})
    assert response.status_code == 400
