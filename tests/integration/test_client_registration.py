"""RFC 7591 dynamic client registration is open to anyone, so it is bounded: a rate limit per client address, caps
on redirect URIs and field sizes, https links only (http redirects only on loopback, for native apps), errors in
RFC 7591's shape, and a consent page that says the client's self-chosen name is not verified."""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.config import load_settings
from issuer.extensions import db
from issuer.models import OAuthClient
from issuer.protocols.oauth import MAX_CLIENT_NAME_CHARS, MAX_FIELD_CHARS, MAX_REDIRECT_URIS
from tests.conftest import AuthActions

GOOD = "https://client.example.test/callback"


def metadata(**fields: Any) -> dict[str, Any]:
    return {"client_name": "Backpack", "redirect_uris": [GOOD], **fields}


def clients(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OAuthClient)) or 0


def assert_refused(app: Flask, response: Any, error: str, words: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error
    assert words in body["error_description"]
    assert clients(app) == 0, "nothing of a refused registration is stored"


def an_address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def test_registrations_past_the_limit_answer_429_per_address(app: Flask, client: FlaskClient) -> None:
    app.config["ISSUER_REGISTER_RATE_LIMIT"] = "3/hour"
    address = an_address()
    statuses = [client.post("/oauth/register", json=metadata(), environ_base={"REMOTE_ADDR": address}).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 201]
    refused = client.post("/oauth/register", json=metadata(), environ_base={"REMOTE_ADDR": address})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.get_json()["error"] == "too_many_requests"
    assert clients(app) == 3
    other = client.post("/oauth/register", json=metadata(), environ_base={"REMOTE_ADDR": an_address()})
    assert other.status_code == 201, "another address has its own count"


def test_the_limit_is_on_by_default(tmp_path: Path) -> None:
    assert load_settings(str(tmp_path))["ISSUER_REGISTER_RATE_LIMIT"] == "10/hour"


def test_at_most_ten_redirect_uris(app: Flask, client: FlaskClient) -> None:
    uris = [f"https://client.example.test/cb/{n}" for n in range(MAX_REDIRECT_URIS + 1)]
    assert_refused(app, client.post("/oauth/register", json=metadata(redirect_uris=uris)),
                   "invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS}")
    response = client.post("/oauth/register", json=metadata(redirect_uris=uris[:MAX_REDIRECT_URIS]))
    assert response.status_code == 201
    assert len(response.get_json()["redirect_uris"]) == MAX_REDIRECT_URIS


def test_twenty_thousand_redirect_uris_are_refused(app: Flask, client: FlaskClient) -> None:
    uris = [f"https://client.example.test/cb/{n}" for n in range(20_000)]
    response = client.post("/oauth/register", json=metadata(redirect_uris=uris))
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert clients(app) == 0


@pytest.mark.parametrize("field", ["client_uri", "logo_uri", "policy_uri", "tos_uri", "software_id"])
def test_an_oversized_field_is_refused_naming_it(app: Flask, client: FlaskClient, field: str) -> None:
    value = "https://client.example.test/" + "a" * MAX_FIELD_CHARS
    assert_refused(app, client.post("/oauth/register", json=metadata(**{field: value})),
                   "invalid_client_metadata", field)


def test_an_oversized_or_control_character_name_is_refused(app: Flask, client: FlaskClient) -> None:
    assert_refused(app, client.post("/oauth/register", json=metadata(client_name="x" * (MAX_CLIENT_NAME_CHARS + 1))),
                   "invalid_client_metadata", "client_name")
    assert_refused(app, client.post("/oauth/register", json=metadata(client_name="Backpack\u001b[31m")),
                   "invalid_client_metadata", "client_name")


def test_too_many_contacts_are_refused(app: Flask, client: FlaskClient) -> None:
    contacts = [f"c{n}@client.example.test" for n in range(50)]
    assert_refused(app, client.post("/oauth/register", json=metadata(contacts=contacts)),
                   "invalid_client_metadata", "contacts")


@pytest.mark.parametrize("uri", [
    "http://client.example.test/cb",  # plain http off loopback
    "javascript://%0aalert(1)",
    "data:text/html,hi",
    "https://client.example.test/cb#fragment",
    "https://client.example.test/c b",
    "https://client.example.test/cb\n",
    "https:///no-host",
])
def test_redirect_uris_must_be_https(app: Flask, client: FlaskClient, uri: str) -> None:
    assert_refused(app, client.post("/oauth/register", json=metadata(redirect_uris=[uri])),
                   "invalid_redirect_uri", "must be https")


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8123/cb", "http://localhost/cb", "http://[::1]:9000/cb"])
def test_loopback_http_redirects_are_allowed_for_native_apps(client: FlaskClient, uri: str) -> None:
    response = client.post("/oauth/register", json=metadata(redirect_uris=[uri]))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["redirect_uris"] == [uri]


def test_redirect_uris_are_required(app: Flask, client: FlaskClient) -> None:
    assert_refused(app, client.post("/oauth/register", json={"client_name": "x"}), "invalid_redirect_uri", "required")


@pytest.mark.parametrize("field", ["client_uri", "logo_uri", "policy_uri", "tos_uri"])
@pytest.mark.parametrize("value", ["javascript://%0aalert(1)", "http://client.example.test/", "data:,x",
                                   "https://client.example.test/\nx"])
def test_links_must_be_https(app: Flask, client: FlaskClient, field: str, value: str) -> None:
    assert_refused(app, client.post("/oauth/register", json=metadata(**{field: value})),
                   "invalid_client_metadata", f"{field} must be an https URL")


def test_the_consent_page_says_the_name_is_not_verified(
        app: Flask, client: FlaskClient, auth: AuthActions, people: dict[str, int]) -> None:
    registered = client.post("/oauth/register", json=metadata(
        client_name="Official Badge Office", client_uri="https://client.example.test/home")).get_json()
    auth.login("ther@example.test")
    query = urlencode({"response_type": "code", "client_id": registered["client_id"], "redirect_uri": GOOD,
                       "scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
                       "state": "s", "code_challenge": "a" * 43, "code_challenge_method": "S256"})
    page = client.get("/oauth/authorize?" + query)
    assert page.status_code == 200, page.get_data(as_text=True)
    body = page.get_data(as_text=True)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())
    assert "calls itself “Official Badge Office” (this name is not verified" in text
    assert "Allow Official Badge Office" not in text, "the heading does not vouch for the name"
    assert 'href="https://client.example.test/home"' in body
