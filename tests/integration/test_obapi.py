"""The OB 3.0 API: discovery, OAuth 2.0 (dynamic registration, authorization code + PKCE, refresh, revocation),
and the credential and profile endpoints, driven over HTTP like a third-party client would."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.extensions import db
from issuer.models import Credential
from tests.conftest import CSRF_PATTERN
from tests.integration.helpers import issue

SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
READ, UPSERT = SCOPE + "credential.readonly", SCOPE + "credential.upsert"
PROFILE_READ, PROFILE_UPDATE = SCOPE + "profile.readonly", SCOPE + "profile.update"
ALL_SCOPES = f"{READ} {UPSERT} {PROFILE_READ} {PROFILE_UPDATE}"
REDIRECT_URI = "https://client.example.test/callback"
API = "/ims/ob/v3p0"




def assert_imsx(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_severity"] == "error"
    return body


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(client: FlaskClient, scope: str = ALL_SCOPES) -> dict[str, Any]:
    """RFC 7591 registration as the OB 3.0 conformance client does it, starting from discovery."""
    discovery = client.get(f"{API}/discovery").get_json()
    registration_url = discovery["components"]["securitySchemes"]["OAuth2ACG"]["x-imssf-registrationUrl"]
    response = client.post(urlsplit(registration_url).path, json={
        "client_name": "Badge Backpack", "client_uri": "https://client.example.test/",
        "logo_uri": "https://client.example.test/logo.png", "tos_uri": "https://client.example.test/tos",
        "policy_uri": "https://client.example.test/privacy", "software_id": "backpack", "software_version": "1.0",
        "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "scope": scope,
        "contacts": ["admin@client.example.test"],
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    client_info: dict[str, Any] = response.get_json()
    return client_info


def authorize_url(registered: dict[str, Any], challenge: str | None, *, scope: str = ALL_SCOPES,
                  state: str = "xyz") -> str:
    params = {"response_type": "code", "client_id": registered["client_id"], "redirect_uri": REDIRECT_URI,
              "scope": scope, "state": state}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return "/oauth/authorize?" + urlencode(params)


def approve(client: FlaskClient, url: str, *, allow: bool = True) -> Any:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    csrf = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert csrf is not None
    data = {"csrf_token": csrf.group(1), ("approve" if allow else "deny"): "x"}
    return client.post(url, data=data)


def get_tokens(client: FlaskClient, auth: Any, scope: str = ALL_SCOPES) -> tuple[dict[str, Any], dict[str, Any]]:
    """Register, sign in as the therapist, consent, exchange the code with PKCE: (client registration, tokens)."""
    registered = register(client, scope=ALL_SCOPES)
    auth.login("ther@example.test")
    verifier, challenge = pkce()
    response = approve(client, authorize_url(registered, challenge, scope=scope))
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    response = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }, headers=basic(registered["client_id"], registered["client_secret"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["refresh_token"]
    return registered, tokens


def test_discovery_is_unprotected_and_describes_oauth(client: FlaskClient) -> None:
    response = client.get(f"{API}/discovery")
    assert response.status_code == 200
    document = response.get_json()
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["type"] == "oauth2"
    assert scheme["x-imssf-registrationUrl"] == "http://127.0.0.1:5000/oauth/register"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "http://127.0.0.1:5000/oauth/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == "http://127.0.0.1:5000/oauth/token"
    assert set(flow["scopes"]) == set(ALL_SCOPES.split())
    assert {"termsOfService", "title", "version", "x-imssf-privacyPolicyUrl"} <= set(document["info"])
    assert set(document["paths"]) == {"/credentials", "/profile", "/discovery"}


@pytest.mark.parametrize(("method", "path"), [("get", "/credentials"), ("post", "/credentials"),
                                              ("get", "/profile"), ("put", "/profile")])
def test_calls_without_a_token_are_refused_with_401(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(API + path)
    body = assert_imsx(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="issuer"'
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "unauthorizedrequest"


def test_an_unknown_token_is_refused_with_401(client: FlaskClient) -> None:
    assert_imsx(client.get(f"{API}/credentials", headers=bearer("not-a-token")), 401)


def test_registration_refuses_plain_http_redirects_and_unknown_scopes(client: FlaskClient) -> None:
    response = client.post("/oauth/register", json={"client_name": "x", "redirect_uris": ["http://evil.example/cb"],
                                                    "scope": READ})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_redirect_uri"
    response = client.post("/oauth/register", json={"client_name": "x", "redirect_uris": [REDIRECT_URI],
                                                    "scope": "https://example.org/everything"})
    assert response.status_code == 400


def test_authorize_sends_anonymous_users_to_sign_in(client: FlaskClient, people: dict[str, int]) -> None:
    registered = register(client)
    url = authorize_url(registered, pkce()[1])
    response = client.get(url)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == [url]


def test_authorization_code_with_pkce_gives_the_therapists_credentials(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    _, tokens = get_tokens(client, auth)
    auth.logout()  # the API takes the token only, not the session
    response = client.get(f"{API}/credentials", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"credential", "compactJwsString"}
    assert [c["id"] for c in body["credential"]] == [f"http://127.0.0.1:5000/credentials/{credential_id}"]
    assert response.headers["X-Total-Count"] == "1"
    with app.app_context():
        stored = db.session.get(Credential, credential_id)
        assert json.loads(stored.document) == body["credential"][0]


def test_credentials_page_with_limit_offset_and_since(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    first, second = issue(app, people, 0), issue(app, people, 1)
    _, tokens = get_tokens(client, auth)
    headers = bearer(tokens["access_token"])
    response = client.get(f"{API}/credentials?limit=1", headers=headers)
    assert response.headers["X-Total-Count"] == "2"
    assert [c["id"] for c in response.get_json()["credential"]] == [f"http://127.0.0.1:5000/credentials/{first}"]
    links = {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"])}
    assert set(links) == {"next", "last", "first"}
    assert "offset=1" in links["next"]
    assert links["next"].startswith("http://127.0.0.1:5000/ims/ob/v3p0/credentials?")
    response = client.get(f"{API}/credentials?limit=1&offset=1", headers=headers)
    assert [c["id"] for c in response.get_json()["credential"]] == [f"http://127.0.0.1:5000/credentials/{second}"]
    assert 'rel="prev"' in response.headers["Link"]
    assert 'rel="next"' not in response.headers["Link"]
    response = client.get(f"{API}/credentials?since=2999-01-01T00:00:00", headers=headers)
    assert response.get_json() == {"credential": [], "compactJwsString": []}
    assert response.headers["X-Total-Count"] == "0"
    for bad in ("limit=0", "offset=-1", "limit=x", "since=yesterday"):
        body = assert_imsx(client.get(f"{API}/credentials?{bad}", headers=headers), 400)
        assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "invalid_query_parameter"


def test_a_token_without_the_scope_is_refused_with_403(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    _, tokens = get_tokens(client, auth, scope=PROFILE_READ)
    assert tokens["scope"] == PROFILE_READ
    assert client.get(f"{API}/profile", headers=bearer(tokens["access_token"])).status_code == 200
    response = client.get(f"{API}/credentials", headers=bearer(tokens["access_token"]))
    assert_imsx(response, 403)
    assert_imsx(client.put(f"{API}/profile", headers=bearer(tokens["access_token"]),
                           json={"type": ["Profile"], "name": "X"}), 403)


def test_pkce_is_required(client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered = register(client)
    auth.login("ther@example.test")
    response = client.get(authorize_url(registered, None))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["xyz"]
    plain = authorize_url(registered, None) + "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain"
    assert parse_qs(urlsplit(client.get(plain).headers["Location"]).query)["error"] == ["invalid_request"]


def test_a_wrong_code_verifier_or_a_replayed_code_gets_no_token(
        client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered = register(client)
    auth.login("ther@example.test")
    verifier, challenge = pkce()
    location = approve(client, authorize_url(registered, challenge)).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    headers = basic(registered["client_id"], registered["client_secret"])
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    response = client.post("/oauth/token", data={**form, "code_verifier": pkce()[0]}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    response = client.post("/oauth/token", data=form, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert client.post("/oauth/token", data={**form, "code_verifier": verifier}, headers=headers).status_code == 200
    response = client.post("/oauth/token", data={**form, "code_verifier": verifier}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_denying_consent_redirects_with_access_denied(client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered = register(client)
    auth.login("ther@example.test")
    response = approve(client, authorize_url(registered, pkce()[1]), allow=False)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["access_denied"]


def test_consent_without_csrf_token_is_refused(client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered = register(client)
    auth.login("ther@example.test")
    response = client.post(authorize_url(registered, pkce()[1]), data={"approve": "x"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_refresh_token_gives_a_new_access_token_once(
        client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered, tokens = get_tokens(client, auth)
    headers = basic(registered["client_id"], registered["client_secret"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = client.post("/oauth/token", data=form, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    fresh = response.get_json()
    assert fresh["access_token"] != tokens["access_token"]
    assert client.get(f"{API}/profile", headers=bearer(fresh["access_token"])).status_code == 200
    assert client.post("/oauth/token", data=form, headers=headers).status_code == 400  # rotated


def test_revoked_token_is_refused(client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    registered, tokens = get_tokens(client, auth)
    headers = basic(registered["client_id"], registered["client_secret"])
    assert client.get(f"{API}/profile", headers=bearer(tokens["access_token"])).status_code == 200
    response = client.post("/oauth/revoke", data={"token": tokens["access_token"],
                                                  "token_type_hint": "access_token"}, headers=headers)
    assert response.status_code == 200
    assert_imsx(client.get(f"{API}/profile", headers=bearer(tokens["access_token"])), 401)
    response = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                 "refresh_token": tokens["refresh_token"]}, headers=headers)
    assert response.status_code == 400


def test_another_client_cannot_revoke_a_token(client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    _, tokens = get_tokens(client, auth)
    other = register(client)
    response = client.post("/oauth/revoke", data={"token": tokens["access_token"]},
                           headers=basic(other["client_id"], other["client_secret"]))
    assert response.status_code == 400
    assert client.get(f"{API}/profile", headers=bearer(tokens["access_token"])).status_code == 200


def test_tokens_are_stored_hashed(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    from issuer.models.oauth import OAuthClient, OAuthToken

    registered, tokens = get_tokens(client, auth)
    with app.app_context():
        rows = db.session.scalars(db.select(OAuthToken)).all()
        stored = {value for row in rows for value in (row.access_token_hash, row.refresh_token_hash)}
        assert tokens["access_token"] not in stored
        assert tokens["refresh_token"] not in stored
        assert hashlib.sha256(tokens["access_token"].encode()).hexdigest() in stored
        client_row = db.session.scalars(db.select(OAuthClient)).first()
        assert client_row.client_secret_hash != registered["client_secret"]


def test_upsert_credential_creates_then_reports_unchanged_then_replaces(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    with app.app_context():
        stored = db.session.get(Credential, credential_id)
        document, jwt = stored.document, stored.jwt
    _, tokens = get_tokens(client, auth)
    headers = bearer(tokens["access_token"])
    response = client.post(f"{API}/credentials", data=document, headers=headers, content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_data(as_text=True) == document
    response = client.post(f"{API}/credentials", data=document, headers=headers, content_type="application/json")
    assert response.status_code == 304
    response = client.post(f"{API}/credentials", data=jwt, headers=headers, content_type="text/plain")
    assert response.status_code == 200  # the same credential (same id), now as a VC-JWT
    assert response.get_data(as_text=True) == jwt
    body = client.get(f"{API}/credentials", headers=headers).get_json()
    assert body["compactJwsString"] == [jwt]


def test_upsert_refuses_a_credential_that_does_not_verify(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    with app.app_context():
        tampered = json.loads(db.session.get(Credential, credential_id).document)
    tampered["name"] = "Something else"
    _, tokens = get_tokens(client, auth)
    headers = bearer(tokens["access_token"])
    assert_imsx(client.post(f"{API}/credentials", json=tampered, headers=headers), 400)
    assert_imsx(client.post(f"{API}/credentials", data="not a jws", headers=headers, content_type="text/plain"), 400)
    assert_imsx(client.post(f"{API}/credentials", data="<x/>", headers=headers, content_type="application/xml"), 415)
    assert_imsx(client.post(f"{API}/credentials", data="[1]", headers=headers, content_type="application/json"), 400)


def test_profile_read_and_update(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    _, tokens = get_tokens(client, auth)
    headers = bearer(tokens["access_token"])
    profile = client.get(f"{API}/profile", headers=headers).get_json()
    assert profile["type"] == ["Profile"]
    assert profile["name"] == "Taylor Therapist"
    assert profile["email"] == "ther@example.test"
    assert profile["id"].startswith("urn:uuid:")
    response = client.put(f"{API}/profile", headers=headers, json={**profile, "name": "Taylor T. Therapist"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Taylor T. Therapist"
    assert client.get(f"{API}/profile", headers=headers).get_json()["name"] == "Taylor T. Therapist"
    assert_imsx(client.put(f"{API}/profile", headers=headers, json={"type": ["Profile"], "name": ""}), 400)
    assert_imsx(client.put(f"{API}/profile", headers=headers, json={"name": "No type"}), 400)
