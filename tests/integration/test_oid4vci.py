"""OID4VCI pre-authorized code flow, driven over HTTP only, as a wallet would follow the spec:
credential offer → issuer metadata → authorization server metadata → token → credential."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from issuer.extensions import db
from issuer.verification import verifier
from tests.conftest import CSRF_PATTERN
from tests.integration.helpers import issue

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"



def path_of(url: str) -> str:
    """The test client talks to the app directly: keep the path (and query) of a public URL."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:5000"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def offer_from_page(client: FlaskClient, credential_id: Any) -> dict[str, Any]:
    """The therapist's "Send to wallet" page: create an offer, read the offer link and check the QR code."""
    url = f"/me/credentials/{credential_id}/wallet"
    page = client.get(url)
    assert page.status_code == 200
    token = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert token is not None
    response = client.post(url, data={"csrf_token": token.group(1), "create": "x"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "<svg" in text
    link = html.unescape(text.split('id="credential-offer" href="', 1)[1].split('"', 1)[0])
    assert link.startswith("openid-credential-offer://?credential_offer=")
    offer: dict[str, Any] = json.loads(parse_qs(urlsplit(link).query)["credential_offer"][0])
    return offer


def test_pre_authorized_flow_delivers_verifiable_credentials(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer = offer_from_page(client, credential_id)
    assert set(offer["grants"]) == {PRE_AUTH}

    wallet = app.test_client()  # another device: no session cookie
    issuer_url = offer["credential_issuer"]
    metadata = wallet.get(path_of(issuer_url) + "/.well-known/openid-credential-issuer").get_json()
    assert metadata["credential_issuer"] == issuer_url
    configurations = metadata["credential_configurations_supported"]
    assert {configurations[c]["format"] for c in offer["credential_configuration_ids"]} == {"ldp_vc", "jwt_vc_json"}
    # No authorization_servers: the credential issuer is its own authorization server (OID4VCI 12.2.4).
    assert "authorization_servers" not in metadata
    as_metadata = wallet.get(path_of(issuer_url) + "/.well-known/oauth-authorization-server").get_json()
    assert PRE_AUTH in as_metadata["grant_types_supported"]
    assert as_metadata["pre-authorized_grant_anonymous_access_supported"] is True

    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    response = wallet.post(path_of(as_metadata["token_endpoint"]), data={"grant_type": PRE_AUTH,
                                                                          "pre-authorized_code": code})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_json()
    assert token["token_type"] == "Bearer"

    delivered = {}
    for configuration_id in offer["credential_configuration_ids"]:
        response = wallet.post(path_of(metadata["credential_endpoint"]),
                               json={"credential_configuration_id": configuration_id},
                               headers={"Authorization": f"Bearer {token['access_token']}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        delivered[configurations[configuration_id]["format"]] = response.get_json()["credentials"][0]["credential"]
    assert isinstance(delivered["ldp_vc"], dict)
    assert isinstance(delivered["jwt_vc_json"], str)
    with app.app_context():
        for credential in delivered.values():
            result = verifier.verify_any(db.session, credential)
            assert result.verified, result.summary
            assert result.credential_id == f"http://127.0.0.1:5000/credentials/{credential_id}"

    # The pre-authorized code works once.
    response = wallet.post(path_of(as_metadata["token_endpoint"]), data={"grant_type": PRE_AUTH,
                                                                          "pre-authorized_code": code})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_credential_endpoint_refuses_missing_and_foreign_tokens(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    issue(app, people)
    wallet = app.test_client()
    response = wallet.post("/oid4vci/credential", json={"credential_configuration_id": "OpenBadgeCredential_ldp_vc"})
    assert response.status_code == 401
    response = wallet.post("/oid4vci/credential", json={"credential_configuration_id": "OpenBadgeCredential_ldp_vc"},
                           headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_unknown_configuration_is_refused(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    offer = offer_from_page(client, credential_id)
    wallet = app.test_client()
    token = wallet.post("/oauth/token", data={
        "grant_type": PRE_AUTH, "pre-authorized_code": offer["grants"][PRE_AUTH]["pre-authorized_code"]}).get_json()
    response = wallet.post("/oid4vci/credential", json={"credential_configuration_id": "mso_mdoc"},
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "unknown_credential_configuration"


def test_a_wrong_pre_authorized_code_gets_no_token(client: FlaskClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": "guess"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_only_the_owner_can_send_a_credential_to_a_wallet(
        app: Flask, client: FlaskClient, auth: Any, make_user: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    url = f"/me/credentials/{credential_id}/wallet"
    assert urlsplit(client.get(url).headers["Location"]).path == "/login"
    make_user("someone@example.test")
    auth.login("someone@example.test")
    assert client.get(url).status_code == 404


def test_offer_creation_needs_the_csrf_token(
        app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    response = client.post(f"/me/credentials/{credential_id}/wallet", data={"create": "x"})
    assert response.status_code == 400
    assert "openid-credential-offer" not in response.get_data(as_text=True)


def test_offer_link_is_url_encoded_json(app: Flask, client: FlaskClient, auth: Any, people: dict[str, int]) -> None:
    credential_id = issue(app, people)
    auth.login("ther@example.test")
    page = client.get(f"/me/credentials/{credential_id}/wallet").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    text = client.post(f"/me/credentials/{credential_id}/wallet", data={"csrf_token": token}).get_data(as_text=True)
    link = html.unescape(text.split('id="credential-offer" href="', 1)[1].split('"', 1)[0])
    encoded = link.split("credential_offer=", 1)[1]
    assert "{" not in encoded
    assert " " not in encoded
    assert json.loads(unquote(encoded))["credential_issuer"] == "http://127.0.0.1:5000"
