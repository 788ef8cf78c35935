"""Administration: accounts, assignments, keys, frameworks, settings, audit log."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.models import Assignment, AuditEvent, Framework, Invitation, IssuerKey, TrustedIssuer, User
from issuer.platform import audit, settings
from tests.conftest import SEED_FRAMEWORK, AuthActions, MakeUser

NEW_PASSWORD = "a long enough password"
GET_ROUTES = ["/admin/users", "/admin/assignments", "/admin/keys", "/admin/trust", "/admin/frameworks",
              "/admin/settings", "/admin/audit", "/admin/bulk"]
#: Admin pages reached from another page rather than the navigation (the id need not exist: 403 comes first).
LINKED_ROUTES = ["/admin/bulk/jobs/1", "/admin/audit.csv", "/admin/users/1/deactivate", "/admin/assignments/1/remove",
                 "/admin/keys/rotate", "/admin/trust/remove", "/admin/invitations/1/revoke"]
#: Every state-changing admin route, with a form that would be valid (and confirmed) from an administrator.
POST_ROUTES = [
    ("/admin/invitations", {"email": "sneaky@example.test", "name": "Sneaky", "role": "admin"}),
    ("/admin/invitations/{therapist}/resend", {}),
    ("/admin/invitations/{therapist}/revoke", {"confirm": "yes"}),
    ("/admin/users/{therapist}/deactivate", {"confirm": "yes"}),
    ("/admin/users/{therapist}/activate", {}),
    ("/admin/assignments", {"supervisor_id": "{other}", "therapist_id": "{therapist}"}),
    ("/admin/assignments/{assignment}/remove", {"confirm": "yes"}),
    ("/admin/keys/rotate", {"confirm": "yes"}),
    ("/admin/keys/revoke", {"kid": "ed25519-20260101-00000000", "reason": "Compromised", "confirm": "yes"}),
    ("/admin/trust", {"issuer_id": "did:web:sneaky.example", "name": "Sneaky"}),
    ("/admin/trust/remove", {"issuer_id": "did:web:sneaky.example", "confirm": "yes"}),
    ("/admin/trust/import", {"registry": "Sneaky"}),
    ("/admin/frameworks", {}),
    ("/admin/settings", {"allow_override": "y"}),
    ("/admin/bulk", {"csv": "therapist_email,level\nther@example.test,1\n", "action": "issue"}),
    ("/admin/bulk", {"csv": "therapist_email,level,completion_date,supervisor_email\n"
                            "ther@example.test,Emerging,2025-03-01,sup@example.test\n", "action": "issue"}),
]


@pytest.fixture
def people(app: Flask, people: dict[str, int]) -> dict[str, int]:
    """The shared people, with their assignment's id."""
    made = dict(people)
    with app.app_context():
        made["assignment"] = db.session.scalars(select(Assignment.id)).one()
    return made


@pytest.fixture
def admin(people: dict[str, int], auth: AuthActions) -> dict[str, int]:
    assert auth.login("admin@example.test").status_code == 302
    return people


def rows(html: str) -> list[str]:
    """The body rows of the page's (first) table, as text with tags stripped."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("<tr>")[1:]]


def count(app: Flask, model: Any, **filters: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters)) or 0


def fill(template: str, people: dict[str, int]) -> str:
    return template.format(**people)


# --- accounts ---------------------------------------------------------------------------------------------------


def test_the_accounts_page_invites_and_never_asks_for_a_password(client: FlaskClient, admin: dict[str, int]) -> None:
    html = client.get("/admin/users").get_data(as_text=True)
    assert "Invite someone" in html
    assert 'type="password"' not in html
    assert 'action="/admin/invitations"' in html


def test_an_invitation_form_with_errors_keeps_what_was_typed(app: Flask, auth: AuthActions,
                                                             admin: dict[str, int]) -> None:
    response = auth.post("/admin/invitations", {"email": "", "name": "Nia New", "role": "therapist"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="Nia New"' in html
    field = re.search(r'<input[^>]*id="email"[^>]*>', html)
    assert field
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="email-error"' in field.group(0)
    assert re.search(r'id="email-error"[^>]*>.*Give the person', html)
    assert count(app, Invitation) == 0


def test_deactivated_account_cannot_sign_in_until_reactivated(app: Flask, auth: AuthActions,
                                                              admin: dict[str, int]) -> None:
    assert auth.post(f"/admin/users/{admin['therapist']}/deactivate", {"confirm": "yes"}).status_code == 302
    assert AuthActions(app.test_client()).login("ther@example.test").status_code == 401
    assert auth.post(f"/admin/users/{admin['therapist']}/activate").status_code == 302
    assert AuthActions(app.test_client()).login("ther@example.test").status_code == 302
    assert count(app, AuditEvent, action="account.deactivated", subject_id=str(admin["therapist"])) == 1
    assert count(app, AuditEvent, action="account.activated", subject_id=str(admin["therapist"])) == 1


def test_deactivation_ends_an_open_session(app: Flask, auth: AuthActions, admin: dict[str, int]) -> None:
    therapist = app.test_client()
    AuthActions(therapist).login("ther@example.test")
    assert therapist.get("/me").status_code == 200
    auth.post(f"/admin/users/{admin['therapist']}/deactivate", {"confirm": "yes"})
    assert therapist.get("/me").status_code == 302


def test_admin_cannot_deactivate_themselves(app: Flask, client: FlaskClient, auth: AuthActions,
                                           admin: dict[str, int]) -> None:
    response = auth.post(f"/admin/users/{admin['admin']}/deactivate")
    assert response.status_code == 400
    assert "your own account" in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200


def test_users_filter_by_role(client: FlaskClient, admin: dict[str, int]) -> None:
    listed = rows(client.get("/admin/users?role=supervisor").get_data(as_text=True))
    assert len(listed) == 2
    assert all(" supervisor " in r for r in listed)
    assert len(rows(client.get("/admin/users").get_data(as_text=True))) == 4


def test_deactivation_asks_for_confirmation_and_an_unconfirmed_post_changes_nothing(
        app: Flask, client: FlaskClient, auth: AuthActions, admin: dict[str, int]) -> None:
    page = client.get(f"/admin/users/{admin['therapist']}/deactivate")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Deactivate Taylor Therapist" in html
    assert "signed out everywhere" in html
    assert 'name="confirm" value="yes"' in html
    before = count(app, AuditEvent)
    refused = auth.post(f"/admin/users/{admin['therapist']}/deactivate")
    assert refused.status_code == 400
    assert "needs your confirmation" in refused.get_data(as_text=True)
    wrong = auth.post(f"/admin/users/{admin['therapist']}/deactivate", {"confirm": "no"})
    assert wrong.status_code == 400
    with app.app_context():
        assert db.session.get_one(User, admin["therapist"]).active
    assert count(app, AuditEvent) == before
    listing = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{admin["therapist"]}/deactivate"' in listing  # a link to the step, not a POST


def test_names_are_escaped(app: Flask, client: FlaskClient, auth: AuthActions, admin: dict[str, int],
                           make_user: MakeUser) -> None:
    make_user("x@example.test", name="<script>alert(1)</script>")
    auth.post("/admin/invitations", {"email": "y@example.test", "name": "<script>alert(2)</script>",
                                     "role": "therapist"})
    for path in ("/admin/users", "/admin/assignments", "/admin/audit"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- assignments ------------------------------------------------------------------------------------------------


def test_assignment_through_the_form_reaches_the_supervisor(app: Flask, client: FlaskClient, auth: AuthActions,
                                                           admin: dict[str, int]) -> None:
    other = app.test_client()
    AuthActions(other).login("other@example.test")
    assert "Taylor Therapist" not in other.get("/supervisor/").get_data(as_text=True)
    response = auth.post("/admin/assignments", {"supervisor_id": admin["other"], "therapist_id": admin["therapist"]})
    assert response.status_code == 302
    assert "Taylor Therapist" in other.get("/supervisor/").get_data(as_text=True)
    # A therapist may have several supervisors: the first assignment stays.
    listed = rows(client.get("/admin/assignments").get_data(as_text=True))
    assert any("Sam Supervisor" in r and "Taylor Therapist" in r for r in listed)
    assert any("Olive Other" in r and "Taylor Therapist" in r for r in listed)
    assert count(app, AuditEvent, action="assignment.created", actor_id=admin["admin"]) == 1


def test_removed_assignment_leaves_the_supervisors_list(app: Flask, auth: AuthActions, admin: dict[str, int]) -> None:
    refused = auth.post(f"/admin/assignments/{admin['assignment']}/remove")
    assert refused.status_code == 400
    assert count(app, Assignment) == 1
    assert auth.post(f"/admin/assignments/{admin['assignment']}/remove", {"confirm": "yes"}).status_code == 302
    supervisor = app.test_client()
    AuthActions(supervisor).login("sup@example.test")
    assert "Taylor Therapist" not in supervisor.get("/supervisor/").get_data(as_text=True)
    assert count(app, Assignment) == 0
    assert count(app, AuditEvent, action="assignment.removed", actor_id=admin["admin"]) == 1


def test_assigning_a_therapist_as_supervisor_is_refused(app: Flask, auth: AuthActions, admin: dict[str, int]) -> None:
    response = auth.post("/admin/assignments",
                         {"supervisor_id": admin["therapist"], "therapist_id": admin["therapist"]})
    assert response.status_code == 400
    assert count(app, Assignment) == 1


def test_removing_a_missing_assignment_is_404(auth: AuthActions, admin: dict[str, int]) -> None:
    assert auth.post("/admin/assignments/999999/remove").status_code == 404


# --- keys -------------------------------------------------------------------------------------------------------


def test_keys_page_lists_public_keys_only(app: Flask, client: FlaskClient, admin: dict[str, int]) -> None:
    html = client.get("/admin/keys").get_data(as_text=True)
    with app.app_context():
        keys = db.session.scalars(select(IssuerKey)).all()
    assert len(keys) == 2
    assert all(k.kid in html for k in keys)
    ed25519 = next(k for k in keys if k.algorithm == "Ed25519")
    assert ed25519.public_multibase is not None
    assert ed25519.public_multibase in html
    assert "PRIVATE KEY" not in html
    assert '"d"' not in html
    assert "stay published" in html


def test_rotating_keys_retires_old_ones_and_keeps_them_published(app: Flask, client: FlaskClient, auth: AuthActions,
                                                                admin: dict[str, int]) -> None:
    with app.app_context():
        old = set(db.session.scalars(select(IssuerKey.kid)))
    step = client.get("/admin/keys/rotate").get_data(as_text=True)
    assert "Rotate the signing keys?" in step
    assert all(kid in step for kid in old)  # it names the keys that will be retired
    refused = auth.post("/admin/keys/rotate")
    assert refused.status_code == 400
    assert count(app, IssuerKey) == 2
    assert count(app, AuditEvent, action="keys.rotated") == 0
    assert auth.post("/admin/keys/rotate", {"confirm": "yes"}).status_code == 302
    with app.app_context():
        keys = db.session.scalars(select(IssuerKey)).all()
        event = db.session.scalars(select(AuditEvent).filter_by(action="keys.rotated")).one()
    assert len(keys) == 4
    assert {k.kid for k in keys if k.retired_at is not None} == old
    assert event.actor_id == admin["admin"]
    assert event.subject_id is not None
    assert all(k.kid in event.subject_id for k in keys if k.kid not in old)
    page = client.get("/admin/keys").get_data(as_text=True)
    assert page.count("retired ") == 2
    jwks = client.get("/.well-known/jwks.json").get_data(as_text=True)
    assert all(kid in jwks for kid in old if kid.startswith("rsa"))


# --- frameworks -------------------------------------------------------------------------------------------------


def upload(client: FlaskClient, auth: AuthActions, data: dict[str, Any] | bytes, name: str = "fw.json") -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post("/admin/frameworks", data={"csrf_token": auth.csrf("/admin/frameworks"),
                                                  "file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def test_frameworks_page_shows_attribution(app: Flask, client: FlaskClient, admin: dict[str, int]) -> None:
    with app.app_context():
        line = db.session.scalars(select(Framework)).one().attribution_line
    assert str(__import__("markupsafe").escape(line)) in client.get("/admin/frameworks").get_data(as_text=True)


def test_broken_framework_upload_is_400_names_the_field_and_writes_nothing(app: Flask, client: FlaskClient,
                                                                          auth: AuthActions,
                                                                          admin: dict[str, int]) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    del data["framework"]["version"]
    response = upload(client, auth, data, "bad.json")
    assert response.status_code == 400
    assert "bad.json: framework.version: is missing" in response.get_data(as_text=True)
    assert count(app, Framework) == 1
    assert count(app, AuditEvent, action="framework.imported") == 0


def test_upload_that_is_not_json_is_400(app: Flask, client: FlaskClient, auth: AuthActions,
                                        admin: dict[str, int]) -> None:
    assert upload(client, auth, b"\x00not json{", "junk.json").status_code == 400
    assert count(app, Framework) == 1


def test_new_framework_version_is_imported_and_audited_once(app: Flask, client: FlaskClient, auth: AuthActions,
                                                            admin: dict[str, int]) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    data["framework"]["version"] = "v.99.01"
    first = upload(client, auth, data)
    assert first.status_code == 200
    assert "Imported" in first.get_data(as_text=True)
    again = upload(client, auth, data)
    assert again.status_code == 200
    assert "already imported" in again.get_data(as_text=True)
    assert count(app, Framework) == 2
    assert count(app, AuditEvent, action="framework.imported", actor_id=admin["admin"]) == 1


def test_reimporting_the_seed_says_already_imported(app: Flask, client: FlaskClient, auth: AuthActions,
                                                    admin: dict[str, int]) -> None:
    response = upload(client, auth, SEED_FRAMEWORK.read_bytes(), SEED_FRAMEWORK.name)
    assert response.status_code == 200
    assert "already imported" in response.get_data(as_text=True)
    assert count(app, Framework) == 1


def test_upload_without_a_file_is_400(auth: AuthActions, admin: dict[str, int]) -> None:
    assert auth.post("/admin/frameworks").status_code == 400


# --- settings ---------------------------------------------------------------------------------------------------


def test_settings_toggle_persists_both_ways(app: Flask, client: FlaskClient, auth: AuthActions,
                                            admin: dict[str, int]) -> None:
    assert auth.post("/admin/settings", {"allow_override": "y"}).status_code == 302
    with app.app_context():
        assert settings.override_allowed(db.session)
    assert re.search(r'<input[^>]*checked[^>]*name="allow_override"|<input[^>]*name="allow_override"[^>]*checked',
                     client.get("/admin/settings").get_data(as_text=True))
    assert auth.post("/admin/settings", {}).status_code == 302  # an unticked box is absent from the form
    with app.app_context():
        assert not settings.override_allowed(db.session)
    assert count(app, AuditEvent, action="setting.changed", actor_id=admin["admin"]) == 2


# --- audit log --------------------------------------------------------------------------------------------------


def test_audit_log_lists_events_newest_first(client: FlaskClient, auth: AuthActions, admin: dict[str, int]) -> None:
    auth.post("/admin/settings", {"allow_override": "y"})
    listed = rows(client.get("/admin/audit").get_data(as_text=True))
    assert "setting.changed" in listed[0]
    assert "admin@example.test" in listed[0]
    assert "allow_override" in listed[0]
    assert "127.0.0.1" in listed[0]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", listed[0])
    assert any("account.created" in r for r in listed)


def test_audit_log_filters_by_action(client: FlaskClient, admin: dict[str, int]) -> None:
    listed = rows(client.get("/admin/audit?action=login.succeeded").get_data(as_text=True))
    assert listed
    assert all(" login.succeeded " in r for r in listed)
    assert rows(client.get("/admin/audit?action=no.such").get_data(as_text=True)) == ["No events match."]


def test_audit_log_filters_by_actor(app: Flask, client: FlaskClient, auth: AuthActions, admin: dict[str, int]) -> None:
    AuthActions(app.test_client()).login("sup@example.test")
    auth.post("/admin/settings", {"allow_override": "y"})
    by_sup = rows(client.get("/admin/audit?actor=SUP@example.test").get_data(as_text=True))
    assert by_sup
    assert all("sup@example.test" in r and "admin@example.test" not in r for r in by_sup)
    by_admin = rows(client.get("/admin/audit?actor=admin@example.test").get_data(as_text=True))
    assert any("setting.changed" in r for r in by_admin)
    assert all("Alex Admin admin@example.test" in r for r in by_admin)


def test_audit_log_filters_by_date_range(app: Flask, client: FlaskClient, admin: dict[str, int]) -> None:
    with app.app_context():
        for day in ("2026-01-10", "2026-01-11", "2026-01-12"):
            audit.record(db.session, f"test.on-{day}", actor=None)
            db.session.flush()
            event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            event.at = dt.datetime.fromisoformat(day + "T23:30:00+00:00")
        db.session.commit()
    listed = rows(client.get("/admin/audit?from=2026-01-11&to=2026-01-11").get_data(as_text=True))
    assert len(listed) == 1
    assert "test.on-2026-01-11" in listed[0]
    assert "2026-01-11 23:30:00" in listed[0]
    listed = rows(client.get("/admin/audit?to=2026-01-11").get_data(as_text=True))
    assert [r.split()[-1] for r in listed] == ["test.on-2026-01-11", "test.on-2026-01-10"]
    assert client.get("/admin/audit?to=9999-12-31").status_code == 200
    response = client.get("/admin/audit?from=not-a-date")
    assert response.status_code == 400
    assert "from must be a date" in response.get_data(as_text=True)


def test_audit_log_pages_by_50(app: Flask, client: FlaskClient, admin: dict[str, int]) -> None:
    with app.app_context():
        for n in range(60):
            audit.record(db.session, "test.bulk", actor=None, n=n)
        db.session.commit()
    first = client.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    assert len(rows(first)) == 50
    assert "The system: test.bulk (n: 59)." in rows(first)[0]
    assert "page=2" in first
    assert "action=test.bulk" in first
    second = rows(client.get("/admin/audit?action=test.bulk&page=2").get_data(as_text=True))
    assert len(second) == 10
    assert "(n: 0)" in second[-1]
    assert client.get("/admin/audit?action=test.bulk&page=3").status_code == 404
    assert client.get("/admin/audit?page=" + "9" * 30).status_code == 404
    assert client.get("/admin/audit?page=two").status_code == 400


def test_audit_log_is_read_only(app: Flask, auth: AuthActions, admin: dict[str, int]) -> None:
    audit_rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert audit_rules
    assert all(set(r.methods or ()) <= {"GET", "HEAD", "OPTIONS"} for r in audit_rules)
    before = count(app, AuditEvent)
    assert auth.post("/admin/audit", {"action": "x"}).status_code == 405
    assert auth.client.delete("/admin/audit").status_code == 405
    assert count(app, AuditEvent) == before


# --- who may do what ----------------------------------------------------------------------------------------


def test_every_admin_route_is_covered_here(app: Flask) -> None:
    ours = {re.sub(r"<[^>]+>", "x", p) for p in GET_ROUTES + LINKED_ROUTES + [p for p, _ in POST_ROUTES]}
    ours = {re.sub(r"\{[^}]+\}|(?<=/)\d+(?=/|$)", "x", p) for p in ours}
    ours = {p.replace("/deactivate", "/x").replace("/activate", "/x") for p in ours}
    ours |= {"/admin/invitations/x/x"}  # resend and revoke (the step) share a rule shape
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            assert re.sub(r"<[^>]+>", "x", rule.rule) in ours, f"{rule.rule} has no access test"


@pytest.mark.parametrize("path", GET_ROUTES + LINKED_ROUTES)
def test_only_admins_may_open_admin_pages(app: Flask, people: dict[str, int], path: str) -> None:
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    for email in ("ther@example.test", "sup@example.test"):
        client = app.test_client()
        AuthActions(client).login(email)
        assert client.get(path).status_code == 403


@pytest.mark.parametrize(("path", "form"), POST_ROUTES)
def test_only_admins_may_change_anything(app: Flask, people: dict[str, int], path: str, form: dict[str, str]) -> None:
    path, form = fill(path, people), {k: fill(v, people) for k, v in form.items()}
    before = count(app, AuditEvent)
    anonymous = AuthActions(app.test_client())
    response = anonymous.client.post(path, data={**form, "csrf_token": anonymous.csrf("/login")})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    for email in ("ther@example.test", "sup@example.test"):
        client = AuthActions(app.test_client())
        client.login(email)
        assert client.post(path, form).status_code == 403
    assert count(app, AuditEvent) == before + 2  # the two sign-ins, nothing else
    assert count(app, IssuerKey) == 2
    assert count(app, Assignment) == 1
    assert count(app, User) == 4
    assert count(app, TrustedIssuer) == 0
    assert count(app, Invitation) == 0
    with app.app_context():
        assert db.session.get(User, people["therapist"]).active
        assert not settings.override_allowed(db.session)


@pytest.mark.parametrize(("path", "form"), POST_ROUTES)
def test_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient, admin: dict[str, int], path: str,
                                           form: dict[str, str]) -> None:
    before = count(app, AuditEvent)
    response = client.post(fill(path, admin), data={k: fill(v, admin) for k, v in form.items()})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert count(app, AuditEvent) == before
    assert count(app, IssuerKey) == 2
    assert count(app, Assignment) == 1
    assert count(app, User) == 4


def test_admin_nav_links_every_admin_page(client: FlaskClient, admin: dict[str, int]) -> None:
    for path in GET_ROUTES:
        html = client.get(path).get_data(as_text=True)
        nav = html.split('aria-label="Administration"', 1)[1].split("</nav>", 1)[0]
        assert all(f'href="{p}"' in nav for p in GET_ROUTES), path

