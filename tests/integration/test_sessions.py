"""Sign-out and password change end every session of the account on the server, not only the one cookie; pages
and answers that show a secret once are never stored by a cache."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from issuer.accounts import directory
from issuer.extensions import db
from issuer.models import User
from tests.conftest import AuthActions, MakeUser
from tests.integration.test_obapi import REDIRECT_URI, basic, get_tokens, register


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def _client_with(app: Flask, cookie: str) -> FlaskClient:
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def test_a_cookie_captured_before_sign_out_no_longer_works(app: Flask, auth: AuthActions, client: FlaskClient,
                                                           make_user: MakeUser) -> None:
    make_user("t@example.test")
    assert auth.login("t@example.test").status_code == 302
    captured = _cookie(client)
    thief = _client_with(app, captured)
    assert thief.get("/me").status_code == 200  # the stolen cookie works while the session lives
    assert auth.logout().status_code == 302
    replay = thief.get("/me")
    assert replay.status_code == 302
    assert "/login" in replay.headers["Location"]
    assert _client_with(app, captured).get("/me").status_code == 302  # in a fresh client too


def test_sign_out_ends_the_sessions_on_other_devices(app: Flask, make_user: MakeUser) -> None:
    make_user("t@example.test")
    laptop, phone = app.test_client(), app.test_client()
    assert AuthActions(laptop).login("t@example.test").status_code == 302
    assert AuthActions(phone).login("t@example.test").status_code == 302
    assert phone.get("/me").status_code == 200
    assert AuthActions(laptop).logout().status_code == 302
    assert phone.get("/me").status_code == 302
    assert laptop.get("/me").status_code == 302
    # signing in again starts a new session that works
    assert AuthActions(phone).login("t@example.test").status_code == 302
    assert phone.get("/me").status_code == 200


def test_sign_out_of_one_account_leaves_other_accounts_signed_in(app: Flask, make_user: MakeUser) -> None:
    make_user("a@example.test")
    make_user("b@example.test")
    first, second = app.test_client(), app.test_client()
    assert AuthActions(first).login("a@example.test").status_code == 302
    assert AuthActions(second).login("b@example.test").status_code == 302
    assert AuthActions(first).logout().status_code == 302
    assert second.get("/me").status_code == 200


def test_password_change_ends_every_session(app: Flask, auth: AuthActions, client: FlaskClient,
                                            make_user: MakeUser) -> None:
    uid = make_user("t@example.test")
    assert auth.login("t@example.test").status_code == 302
    captured = _cookie(client)
    with app.app_context():
        directory.set_password(db.session, db.session.get_one(User, uid), "a brand new password", actor=None)
        db.session.commit()
    assert client.get("/me").status_code == 302
    assert _client_with(app, captured).get("/me").status_code == 302
    assert auth.login("t@example.test").status_code == 401  # the old password is gone
    assert auth.login("t@example.test", "a brand new password").status_code == 302
    assert client.get("/me").status_code == 200


def test_a_cookie_forged_without_the_epoch_signs_nobody_in(app: Flask, auth: AuthActions, client: FlaskClient,
                                                           make_user: MakeUser) -> None:
    make_user("t@example.test")
    assert auth.login("t@example.test").status_code == 302
    with client.session_transaction() as stored:
        stored.pop("session_epoch")
    assert client.get("/me").status_code == 302


# Secrets shown once are never kept by a cache (issue 18, item 8).


def test_the_page_showing_a_new_api_token_is_never_stored(auth: AuthActions, client: FlaskClient,
                                                          make_user: MakeUser) -> None:
    make_user("t@example.test")
    auth.login("t@example.test")
    created = auth.post("/account/tokens", {"name": "backpack"})
    assert created.status_code == 200
    assert 'id="new-token"' in created.get_data(as_text=True)
    assert "no-store" in created.headers["Cache-Control"]
    assert "no-store" in client.get("/account/tokens").headers["Cache-Control"]


def test_oauth_client_registration_and_tokens_are_never_stored(client: FlaskClient, auth: AuthActions,
                                                               people: dict[str, int]) -> None:
    registered = register(client)  # the client secret, shown once
    assert registered["client_secret"]
    again = client.post("/oauth/register", json={"client_name": "Other", "redirect_uris": [REDIRECT_URI],
                                                 "token_endpoint_auth_method": "client_secret_basic"})
    assert again.status_code == 201
    assert again.headers["Cache-Control"] == "no-store"
    assert again.headers["Pragma"] == "no-cache"
    registered, tokens = get_tokens(client, auth)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = client.post("/oauth/token", data=refresh,
                            headers=basic(registered["client_id"], registered["client_secret"]))
    assert refreshed.status_code == 200
    assert refreshed.get_json()["access_token"]
    assert refreshed.headers["Cache-Control"] == "no-store"
    refused = client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "not a token"},
                          headers=basic(registered["client_id"], registered["client_secret"]))
    assert refused.status_code == 400
    assert refused.headers["Cache-Control"] == "no-store"
