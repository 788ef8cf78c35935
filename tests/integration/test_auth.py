"""Signing in: Argon2id passwords, CSRF, rate limits, deactivated accounts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from issuer import create_app
from issuer.accounts import directory, logins
from issuer.extensions import db
from issuer.models import AuditEvent, User, utcnow
from tests.conftest import PASSWORD, AuthActions, MakeUser


def test_password_is_stored_as_argon2id(app: Flask, make_user: MakeUser) -> None:
    uid = make_user("t@example.test", "therapist")
    with app.app_context():
        assert db.session.get(User, uid).password_hash.startswith("$argon2id$")


def test_supervisor_signs_in_and_lands_on_their_list(auth: AuthActions, client: FlaskClient,
                                                     make_user: MakeUser) -> None:
    make_user("s@example.test", "supervisor", name="Sam Supervisor")
    response = auth.login("s@example.test")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/supervisor/")
    page = client.get("/supervisor/")
    assert page.status_code == 200
    assert "Sam Supervisor" in page.get_data(as_text=True)


def test_wrong_password_is_refused_with_a_clear_message(auth: AuthActions, make_user: MakeUser) -> None:
    make_user("t@example.test")
    response = auth.login("T@example.test", "not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Wrong e-mail address or password" in html
    # Beside the password field, the address kept as typed, the password never typed back.
    assert re.search(r'<p class="field-error" id="password-error">.*Wrong e-mail address or password', html)
    field = re.search(r'<input[^>]*id="password"[^>]*>', html)
    assert field
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="password-error"' in field.group(0)
    assert 'value="T@example.test"' in html
    assert "not the password" not in html


def test_an_empty_sign_in_form_shows_each_error_by_its_field(client: FlaskClient, auth: AuthActions) -> None:
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": auth.csrf()})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html
    assert 'id="password-error"' in html
    assert html.count('aria-invalid="true"') == 2


def test_login_without_csrf_token_is_refused(client: FlaskClient, make_user: MakeUser) -> None:
    make_user("t@example.test")
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": "t@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/me").status_code == 302  # still signed out


def test_logout_without_csrf_token_is_refused(auth: AuthActions, client: FlaskClient, make_user: MakeUser) -> None:
    make_user("t@example.test")
    auth.login("t@example.test")
    assert client.post("/logout").status_code == 400
    assert client.get("/me").status_code == 200


def test_sixth_failed_attempt_on_an_account_from_one_address_waits(auth: AuthActions, make_user: MakeUser,
                                                                   frozen_clock: list[dt.datetime]) -> None:
    make_user("t@example.test")
    codes = [auth.login("t@example.test", "wrong password!").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    limited = auth.login("t@example.test")  # from the address that failed, even the right password waits
    assert limited.status_code == 429
    assert "Too many failed sign-in attempts for this account" in limited.get_data(as_text=True)
    assert int(limited.headers["Retry-After"]) == 2


def _login_from(client: FlaskClient, address: str, email: str, password: str = PASSWORD) -> TestResponse:
    token = AuthActions(client).csrf("/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The sign-in clock, moved by the test (the delays are checked without waiting)."""
    clock = [utcnow()]
    monkeypatch.setattr(logins, "utcnow", lambda: clock[0])
    return clock


def test_delays_grow_for_the_failing_pair_and_end_after_the_wait(app: Flask, make_user: MakeUser,
                                                                  frozen_clock: list[dt.datetime]) -> None:
    make_user("t@example.test")
    attacker = app.test_client()
    for _ in range(5):
        assert _login_from(attacker, "203.0.113.9", "t@example.test", "wrong password!").status_code == 401
    waits = []
    for _ in range(4):
        limited = _login_from(attacker, "203.0.113.9", "t@example.test", "wrong password!")
        assert limited.status_code == 429
        wait = int(limited.headers["Retry-After"])
        waits.append(wait)
        frozen_clock[0] += dt.timedelta(seconds=wait - 1)
        assert _login_from(attacker, "203.0.113.9", "t@example.test", "wrong password!").status_code == 429
        frozen_clock[0] += dt.timedelta(seconds=1)  # the wait is over: one more try, which fails again
        assert _login_from(attacker, "203.0.113.9", "t@example.test", "wrong password!").status_code == 401
    assert waits == [2, 4, 8, 16]
    assert logins.pair_delay(40) == logins.MAX_DELAY  # capped


def test_an_attacker_failing_elsewhere_cannot_lock_the_owner_out(app: Flask, make_user: MakeUser,
                                                                 frozen_clock: list[dt.datetime]) -> None:
    make_user("owner@example.test", "admin")
    attacker, owner = app.test_client(), app.test_client()
    codes = [_login_from(attacker, "198.51.100.7", "owner@example.test", "wrong password!").status_code
             for _ in range(15)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    assert _login_from(attacker, "198.51.100.7", "owner@example.test").status_code == 429  # right password, too
    signed_in = _login_from(owner, "192.0.2.44", "owner@example.test")
    assert signed_in.status_code == 302
    home = owner.get(signed_in.headers["Location"], environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert home.status_code == 200
    assert "/admin/" in signed_in.headers["Location"]
    # the owner's success forgives only the owner's address: the attacker still waits
    assert _login_from(attacker, "198.51.100.7", "owner@example.test", "wrong password!").status_code == 429


def test_many_attackers_on_one_account_each_wait_alone(app: Flask, make_user: MakeUser,
                                                       frozen_clock: list[dt.datetime]) -> None:
    make_user("t@example.test")
    for n in range(10):
        client = app.test_client()
        for _ in range(5):
            assert _login_from(client, f"203.0.113.{n}", "t@example.test", "wrong password!").status_code == 401
        assert _login_from(client, f"203.0.113.{n}", "t@example.test", "wrong password!").status_code == 429
    assert _login_from(app.test_client(), "192.0.2.1", "t@example.test").status_code == 302


def test_rate_limit_per_address_covers_many_accounts(auth: AuthActions, make_user: MakeUser) -> None:
    make_user("real@example.test")
    for n in range(20):
        assert auth.login(f"guess{n}@example.test", "wrong password!").status_code == 401
    response = auth.login("real@example.test")
    assert response.status_code == 429
    assert "from your network" in response.get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(app: Flask, auth: AuthActions, make_user: MakeUser) -> None:
    uid = make_user("t@example.test")
    with app.app_context():
        db.session.get(User, uid).active = False
        db.session.commit()
    assert auth.login("t@example.test").status_code == 401


def test_logins_are_audited(app: Flask, auth: AuthActions, make_user: MakeUser) -> None:
    make_user("t@example.test")
    auth.login("t@example.test", "wrong password!")
    auth.login("t@example.test")
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions[-2:] == ["login.failed", "login.succeeded"]
        assert db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first().address == "127.0.0.1"


def test_next_parameter_cannot_send_users_elsewhere(auth: AuthActions, client: FlaskClient,
                                                    make_user: MakeUser) -> None:
    make_user("t@example.test")
    token = auth.csrf("/login")
    from tests.conftest import PASSWORD

    response = client.post("/login?next=https://evil.example/", data={"email": "t@example.test", "password": PASSWORD,
                                                                      "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"


def test_the_login_pages_own_csrf_token_signs_in(client: FlaskClient, make_user: MakeUser) -> None:
    """The form as a browser gets it: the token scraped from the page (AuthActions makes its tokens directly)."""
    from tests.conftest import CSRF_PATTERN, PASSWORD

    make_user("t@example.test")
    token = CSRF_PATTERN.search(client.get("/login").get_data(as_text=True))
    assert token is not None
    response = client.post("/login",
                           data={"email": "t@example.test", "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert client.get("/me").status_code == 200


def test_production_argon2_parameters_are_strong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no ISSUER_ARGON2_* set, hashes cost at least RFC 9106's second recommendation (t=3, 64 MiB, p=4)."""
    from issuer.config import load_settings

    for name in ("ISSUER_ARGON2_TIME_COST", "ISSUER_ARGON2_MEMORY_COST", "ISSUER_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "not used")
    settings = load_settings(str(tmp_path))
    assert settings["ISSUER_ARGON2_TIME_COST"] >= 3
    assert settings["ISSUER_ARGON2_MEMORY_COST"] >= 64 * 1024
    assert settings["ISSUER_ARGON2_PARALLELISM"] >= 1
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    hasher = directory.password_hasher(app)
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        settings["ISSUER_ARGON2_TIME_COST"], settings["ISSUER_ARGON2_MEMORY_COST"],
        settings["ISSUER_ARGON2_PARALLELISM"])


def test_a_hash_made_with_other_parameters_verifies_and_is_upgraded(app: Flask, auth: AuthActions,
                                                                    make_user: MakeUser) -> None:
    """Argon2 hashes carry their parameters: an older (here stronger) hash signs in, then is redone with the app's."""
    from argon2 import PasswordHasher

    from tests.conftest import PASSWORD

    uid = make_user("t@example.test")
    other = PasswordHasher(time_cost=2, memory_cost=16, parallelism=2).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, uid).password_hash = other
        db.session.commit()
    assert auth.login("t@example.test").status_code == 302
    with app.app_context():
        stored = db.session.get(User, uid).password_hash
        assert stored != other
        assert stored.startswith("$argon2id$")
        assert not directory.password_hasher().check_needs_rehash(stored)
        assert directory.password_hasher().verify(stored, PASSWORD)
