"""Invitations and "Forgot password?" by single-use, expiring e-mailed links (issue 17), on both databases:
only a hash is stored, a link works once and never after it expires, unknown/used/expired links change nothing,
two concurrent uses give one success and one clear 410 (never a 5xx), and asking for a reset never tells whether
an account exists."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from issuer.accounts import link_tokens
from issuer.extensions import db
from issuer.models import AuditEvent, Invitation, PasswordReset, User
from tests.conftest import CSRF_PATTERN, PASSWORD, AuthActions, fresh_app
from tests.integration.helpers import race, seed_people

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/(?:invitations|reset-password)/[A-Za-z0-9_-]+)")


def mails(app: Flask) -> list[email.message.EmailMessage]:
    paths = sorted(Path(app.config["ISSUER_OUTBOX_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]


def last_link(app: Flask, to: str) -> str:
    """The path of the link in the newest e-mail to ``to``."""
    found = [m for m in mails(app) if m["To"] == to]
    assert found, f"no e-mail to {to}"
    match = LINK.search(found[-1].get_content())
    assert match, found[-1].get_content()
    return match.group(1)


def count(app: Flask, model: Any, **filters: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters)) or 0


def form_post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    """GET the form (as a browser would), then POST it with the page's own CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert token
    return client.post(path, data={**data, "csrf_token": token.group(1)})


@pytest.fixture
def admin(app: Flask, people: dict[str, int], auth: AuthActions) -> dict[str, int]:
    assert auth.login("admin@example.test").status_code == 302
    return people


def invite(auth: AuthActions, email_: str = "nia@example.test", name: str = "Nia New", role: str = "supervisor") -> Any:
    return auth.post("/admin/invitations", {"email": email_, "name": name, "role": role})


# --- invitations ------------------------------------------------------------------------------------------------


def test_invitation_opens_an_account_with_the_invitees_own_password(app: Flask, auth: AuthActions,
                                                                   admin: dict[str, int]) -> None:
    assert invite(auth).status_code == 302
    assert count(app, User, email="nia@example.test") == 0  # no account until the invitee accepts
    path = last_link(app, "nia@example.test")
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.token_hash == link_tokens.hash_token(token)
        assert token not in invitation.token_hash
        assert invitation.expires_at - invitation.created_at == dt.timedelta(hours=168)
    mail = [m for m in mails(app) if m["To"] == "nia@example.test"][-1]
    assert "Alex Admin has invited you" in mail.get_content()
    assert "as a supervisor" in mail.get_content()

    invitee = app.test_client()
    page = invitee.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Welcome, Nia New" in page.get_data(as_text=True)
    assert count(app, Invitation, accepted_at=None) == 1  # opening the link uses nothing up
    done = form_post(invitee, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.headers["Location"] == "/supervisor/"
    assert invitee.get("/supervisor/").status_code == 200  # signed in
    assert AuthActions(app.test_client()).login("nia@example.test", NEW_PASSWORD).status_code == 302
    with app.app_context():
        user = db.session.scalars(select(User).filter_by(email="nia@example.test")).one()
        assert (user.name, user.role.value) == ("Nia New", "supervisor")
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"account.invited", "account.created", "account.invitation_accepted"} <= actions
    # The link works once: a second visit is a clear 410, and changes nothing.
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "used already" in again.get_data(as_text=True)
    assert count(app, User, email="nia@example.test") == 1


def test_short_or_mismatched_password_keeps_the_invitation_open(app: Flask, auth: AuthActions,
                                                                admin: dict[str, int]) -> None:
    invite(auth)
    path = last_link(app, "nia@example.test")
    invitee = app.test_client()
    short = form_post(invitee, path, {"password": "short", "repeat": "short"})
    assert short.status_code == 400
    html = short.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert 'id="password-error"' in html
    assert 'aria-describedby="password-hint password-error"' in html
    assert "short" not in re.findall(r'value="([^"]*)"', html)  # a password is never typed back
    differ = form_post(invitee, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"})
    assert differ.status_code == 400
    assert "The two passwords differ" in differ.get_data(as_text=True)
    assert count(app, User, email="nia@example.test") == 0
    assert form_post(invitee, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}).status_code == 303


def test_expired_unknown_and_withdrawn_invitations_change_nothing(app: Flask, client: FlaskClient, auth: AuthActions,
                                                                  admin: dict[str, int]) -> None:
    invite(auth)
    path = last_link(app, "nia@example.test")
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    invitee = app.test_client()
    expired = invitee.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    posted = invitee.post(path, data={"password": NEW_PASSWORD, "repeat": NEW_PASSWORD,
                                      "csrf_token": AuthActions(invitee).csrf()})
    assert posted.status_code == 410
    unknown = invitee.get("/invitations/" + "A" * 43)
    assert unknown.status_code == 404
    assert "not known" in unknown.get_data(as_text=True)
    assert invitee.get("/invitations/x").status_code == 404
    assert invitee.get("/invitations/" + "%00" * 500).status_code == 404
    assert count(app, User, email="nia@example.test") == 0
    # The admin sends a new link: the old one stays dead, the new one works until it is withdrawn.
    with app.app_context():
        invitation_id = db.session.scalars(select(Invitation.id)).one()
    assert auth.post(f"/admin/invitations/{invitation_id}/resend").status_code == 302
    fresh = last_link(app, "nia@example.test")
    assert fresh != path
    assert invitee.get(path).status_code == 404  # replaced: no longer any invitation's token
    assert invitee.get(fresh).status_code == 200
    unconfirmed = auth.post(f"/admin/invitations/{invitation_id}/revoke")
    assert unconfirmed.status_code == 400
    assert invitee.get(fresh).status_code == 200
    assert auth.post(f"/admin/invitations/{invitation_id}/revoke", {"confirm": "yes"}).status_code == 302
    withdrawn = invitee.get(fresh)
    assert withdrawn.status_code == 410
    assert "withdrawn" in withdrawn.get_data(as_text=True)
    assert count(app, User, email="nia@example.test") == 0


def test_inviting_an_existing_account_or_twice_is_409_next_to_the_field(app: Flask, auth: AuthActions,
                                                                        admin: dict[str, int]) -> None:
    taken = invite(auth, "THER@example.test", "Again", "therapist")
    assert taken.status_code == 409
    html = taken.get_data(as_text=True)
    assert "An account for ther@example.test already exists." in html
    assert 'id="email-error"' in html
    assert 'value="Again"' in html  # what was typed is kept
    assert invite(auth).status_code == 302
    twice = invite(auth)
    assert twice.status_code == 409
    assert "already has an invitation waiting" in twice.get_data(as_text=True)
    assert count(app, Invitation) == 1
    bad = invite(auth, "not-an-address", "Nia\x07", "supervisor")
    assert bad.status_code == 400
    assert count(app, Invitation) == 1


def test_invitation_ttl_is_configurable(app_config: dict[str, Any]) -> None:
    with fresh_app({**app_config, "ISSUER_INVITATION_TTL_HOURS": 2}) as app:
        seed_people(app)
        auth = AuthActions(app.test_client())
        auth.login("admin@example.test")
        assert invite(auth).status_code == 302
        with app.app_context():
            invitation = db.session.scalars(select(Invitation)).one()
            assert invitation.expires_at - invitation.created_at == dt.timedelta(hours=2)


# --- password reset ---------------------------------------------------------------------------------------------


def ask_reset(client: FlaskClient, address: str) -> Any:
    return form_post(client, "/forgot-password", {"email": address})


def test_sign_in_page_links_to_forgot_password(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in html
    assert "Forgot password?" in html


def test_reset_sets_the_password_and_ends_every_other_session(app: Flask, people: dict[str, int]) -> None:
    signed_in = app.test_client()
    assert AuthActions(signed_in).login("ther@example.test").status_code == 302
    assert signed_in.get("/me").status_code == 200
    visitor = app.test_client()
    asked = ask_reset(visitor, "Ther@Example.test")
    assert asked.status_code == 200
    path = last_link(app, "ther@example.test")
    with app.app_context():
        reset = db.session.scalars(select(PasswordReset)).one()
        assert reset.token_hash == link_tokens.hash_token(path.rsplit("/", 1)[1])
        assert reset.expires_at - reset.created_at == dt.timedelta(minutes=60)
    assert visitor.get(path).status_code == 200
    done = form_post(visitor, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.headers["Location"] == "/login"
    assert signed_in.get("/me").status_code == 302  # the other session has ended
    assert AuthActions(app.test_client()).login("ther@example.test", PASSWORD).status_code == 401
    assert AuthActions(app.test_client()).login("ther@example.test", NEW_PASSWORD).status_code == 302
    used = visitor.get(path)
    assert used.status_code == 410
    assert "used already" in used.get_data(as_text=True)
    reuse = visitor.post(path, data={"password": "another password!", "repeat": "another password!",
                                     "csrf_token": AuthActions(visitor).csrf()})
    assert reuse.status_code == 410
    assert AuthActions(app.test_client()).login("ther@example.test", NEW_PASSWORD).status_code == 302


def test_asking_answers_the_same_for_any_address(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        db.session.get_one(User, people["other"]).active = False
        db.session.commit()
    bodies = {}
    for address in ("ther@example.test", "nobody@example.test", "other@example.test", "not an address"):
        response = ask_reset(app.test_client(), address)
        assert response.status_code == 200
        bodies[address] = response.get_data(as_text=True).replace(address, "ADDRESS")
        assert response.headers["Cache-Control"] == "no-store"
    known = bodies.pop("ther@example.test")
    known = re.sub(r'value="[^"]+"', "", known)
    assert all(re.sub(r'value="[^"]+"', "", b) == known for b in bodies.values())
    assert [m["To"] for m in mails(app)] == ["ther@example.test"]  # only the active account gets a link
    assert count(app, PasswordReset) == 1


def test_one_account_gets_at_most_three_links_an_hour(app: Flask, people: dict[str, int]) -> None:
    for _ in range(5):
        assert ask_reset(app.test_client(), "ther@example.test").status_code == 200
    assert len(mails(app)) == 3
    assert count(app, PasswordReset) == 3


def test_asking_is_rate_limited_per_address(app_config: dict[str, Any]) -> None:
    with fresh_app({**app_config, "ISSUER_PASSWORD_RESET_RATE_LIMIT": "2/hour"}) as app:
        seed_people(app)
        client = app.test_client()
        assert ask_reset(client, "a@example.test").status_code == 200
        assert ask_reset(client, "b@example.test").status_code == 200
        refused = ask_reset(client, "ther@example.test")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many password reset requests" in refused.get_data(as_text=True)
        assert mails(app) == []


def test_expired_unknown_and_deactivated_reset_links_change_nothing(app: Flask, people: dict[str, int]) -> None:
    visitor = app.test_client()
    ask_reset(visitor, "ther@example.test")
    path = last_link(app, "ther@example.test")
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    expired = visitor.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    assert visitor.get("/reset-password/" + "B" * 43).status_code == 404
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC)))
        db.session.get_one(User, people["therapist"]).active = False
        db.session.commit()
    assert visitor.get(path).status_code == 410
    with app.app_context():
        db.session.get_one(User, people["therapist"]).active = True
        db.session.commit()
    assert AuthActions(app.test_client()).login("ther@example.test", PASSWORD).status_code == 302


def test_reset_form_keeps_nothing_typed_and_shows_errors_by_the_field(app: Flask, people: dict[str, int]) -> None:
    visitor = app.test_client()
    empty = visitor.post("/forgot-password", data={"email": "", "csrf_token": AuthActions(visitor).csrf()})
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in html
    assert "Give the e-mail address of your account." in html
    ask_reset(visitor, "ther@example.test")
    path = last_link(app, "ther@example.test")
    short = form_post(visitor, path, {"password": "tiny pass", "repeat": "tiny pass"})
    assert short.status_code == 400
    assert "tiny pass" not in short.get_data(as_text=True)
    assert count(app, PasswordReset, used_at=None) == 1


# --- concurrent use: one wins, the other is told (410), never a 5xx ----------------------------------------------


def concurrent_posts(app: Flask, path: str, count_: int) -> list[int]:
    clients = [app.test_client() for _ in range(count_)]
    tokens = [AuthActions(c).csrf() for c in clients]

    def attempt(n: int) -> int:
        password = f"racer number {n} password"
        return clients[n].post(path, data={"password": password, "repeat": password,
                                           "csrf_token": tokens[n]}).status_code

    outcomes = race(count_, attempt)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    return outcomes


def test_concurrent_reset_uses_one_wins_the_others_get_410(race_app: Flask) -> None:
    app = race_app
    seed_people(app)
    ask_reset(app.test_client(), "ther@example.test")
    path = last_link(app, "ther@example.test")
    outcomes = concurrent_posts(app, path, 4)
    assert sorted(outcomes) == [303, 410, 410, 410], outcomes
    winner = outcomes.index(303)
    assert AuthActions(app.test_client()).login("ther@example.test", f"racer number {winner} password"
                                                ).status_code == 302
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .filter_by(action="account.password_reset")) or 0
    assert events == 1


def test_concurrent_invitation_uses_open_one_account(race_app: Flask) -> None:
    app = race_app
    seed_people(app)
    auth = AuthActions(app.test_client())
    auth.login("admin@example.test")
    assert invite(auth).status_code == 302
    path = last_link(app, "nia@example.test")
    outcomes = concurrent_posts(app, path, 4)
    assert sorted(outcomes) == [303, 410, 410, 410], outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).filter_by(email="nia@example.test")) == 1
