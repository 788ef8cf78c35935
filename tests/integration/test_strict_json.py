"""Every JSON input is read strictly: a key written twice is refused with a 400 that names it, and nothing is stored.

Python's own reader lets the last of two equal keys win, so a body could mean one thing to this service and
another to whoever signed or checks it. Each entry point below gets the same kind of body: genuine apart from
one doubled key.
"""

from __future__ import annotations

import base64
import functools
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from issuer.accounts import api_tokens
from issuer.badges import bake_png, bake_svg
from issuer.extensions import db
from issuer.models import Credential, Framework, User
from tests.conftest import SEED_FRAMEWORK, AuthActions
from tests.integration.test_obapi import bearer, get_tokens
from tests.integration.test_oid4vci import PRE_AUTH, offer_from_page

#: Tables a refused request may still write: rate-limit windows, sign-in attempts, a token's last use.
BOOKKEEPING = {"rate_windows", "login_attempts", "api_tokens", "alembic_version"}
OB_API = "/ims/ob/v3p0"


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the bookkeeping ones, in a stable order."""
    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables if t.name not in BOOKKEEPING]
        return {t.name: sorted(map(tuple, db.session.execute(select(t)).all()), key=repr) for t in tables}


def doubled_subject_name(document: str) -> str:
    """The issued credential's text with ``credentialSubject.name`` written twice (the first one a lie)."""
    marker = '"credentialSubject": {'
    assert marker in document
    return document.replace(marker, marker + '"name": "Mallory Impostor", "name": "Taylor Therapist", ', 1)


class World:
    """What the cases need, made once per test: an issued credential, API tokens, and lazily an OAuth token."""

    def __init__(self, app: Flask, client: FlaskClient, people: dict[str, int], credential_id: uuid.UUID) -> None:
        self.app, self.client, self.people, self.credential_id = app, client, people, credential_id
        with app.app_context():
            credential = db.session.get(Credential, credential_id)
            self.document, self.jwt = credential.document, credential.jwt
            self.tokens = {role: api_tokens.create_api_token(db.session, user=db.session.get_one(User, people[role]),
                                                             name="tests").secret
                           for role in ("supervisor", "admin")}
            level = db.session.scalars(select(Framework)).first().levels[1]
            self.level_id, self.statement_id = level.id, level.statements[0].id
            db.session.commit()
        self.auth = AuthActions(client)

    def api(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def prepare(self, needs: str | None) -> None:
        """Sign in and get tokens before the snapshot: that writes rows of its own."""
        if needs == "ob":
            self.ob_token()
        elif needs == "oid4vci":
            self.oid4vci_token()
        elif needs == "admin":
            self.auth.login("admin@example.test")

    @functools.cache  # noqa: B019 - one World per test
    def ob_token(self) -> dict[str, str]:
        _, tokens = get_tokens(self.client, self.auth)
        return bearer(tokens["access_token"])

    @functools.cache  # noqa: B019 - one World per test
    def oid4vci_token(self) -> dict[str, str]:
        self.auth.login("ther@example.test")
        offer, _tx_code = offer_from_page(self.client, self.credential_id)
        code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
        response = self.client.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code})
        assert response.status_code == 200, response.get_data(as_text=True)
        return bearer(response.get_json()["access_token"])


def post_json(path: str, body: str, headers: Callable[[World], dict[str, str]] | None = None,
              method: str = "post") -> Callable[[World], Any]:
    def send(world: World) -> Any:
        fill = {"{THERAPIST}": world.people["therapist"], "{LEVEL}": world.level_id,
                "{STATEMENT}": world.statement_id, "{CREDENTIAL}": world.credential_id}
        url, data = path, body
        for name, value in fill.items():
            url, data = url.replace(name, str(value)), data.replace(name, str(value))
        return getattr(world.client, method)(url, data=data, content_type="application/json",
                                             headers=headers(world) if headers else {})
    return send


def verify_form(field: str) -> Callable[[World], Any]:
    def send(world: World) -> Any:
        data: dict[str, Any] = {"csrf_token": world.auth.csrf("/verify")}
        if field == "file":
            data["file"] = (io.BytesIO(doubled_subject_name(world.document).encode()), "credential.json")
        else:
            data["credential"] = doubled_subject_name(world.document)
        return world.client.post("/verify", data=data, content_type="multipart/form-data")
    return send


def verify_baked(kind: str) -> Callable[[World], Any]:
    def send(world: World) -> Any:
        image = world.client.get(f"/credentials/{world.credential_id}.{kind}").get_data()
        doubled = doubled_subject_name(world.document)
        if kind == "png":
            baked, mimetype = bake_png(image, doubled), "image/png"
        else:
            baked, mimetype = bake_svg(image.decode(), doubled, jws=False).encode(), "image/svg+xml"
        return world.client.post("/api/v1/verify", data=baked, content_type=mimetype)
    return send


def verify_jwt_payload(world: World) -> Any:
    header, payload, signature = world.jwt.split(".")
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert claims.startswith("{")
    doubled = '{"iss": "did:web:mallory.example", ' + claims[1:]
    encoded = base64.urlsafe_b64encode(doubled.encode()).rstrip(b"=").decode()
    return world.client.post("/api/v1/verify", data=f"{header}.{encoded}.{signature}", content_type="text/plain")


def ob_upload(world: World) -> Any:
    return world.client.post(f"{OB_API}/credentials", data=doubled_subject_name(world.document),
                             content_type="application/json", headers=world.ob_token())


def framework_upload(world: World) -> Any:
    data = {"csrf_token": world.auth.csrf("/admin/frameworks"),
            "file": (io.BytesIO(doubled_framework()), "framework.json")}
    return world.client.post("/admin/frameworks", data=data, content_type="multipart/form-data")


def doubled_framework() -> bytes:
    raw = SEED_FRAMEWORK.read_text(encoding="utf-8")
    marker = '{"schemaVersion":"1.0",'
    assert raw.startswith(marker)
    assert '"version":"v.26.05"' in raw
    return (marker + '"schemaVersion":"1.0",' + raw[len(marker):]).replace('"version":"v.26.05"',
                                                                        '"version":"v.99.01"').encode()


def trust_import(world: World) -> Any:
    registry = ('{"registry": {"did:web:partner.example": {"name": "Partner", "url": "https://partner.example"}, '
                '"did:web:partner.example": {"name": "Someone else", "url": "https://evil.example"}}}')
    data = {"csrf_token": world.auth.csrf("/admin/trust"), "registry": "DCC Community",
            "file": (io.BytesIO(registry.encode()), "registry.json")}
    return world.client.post("/admin/trust/import", data=data, content_type="multipart/form-data")


REGISTRATION = ('{"client_name": "Backpack", "redirect_uris": ["https://client.example.test/callback"], '
                '"redirect_uris": ["https://evil.example.test/callback"], "grant_types": ["authorization_code"], '
                '"response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"}')

#: (entry point, request, the doubled key, where it is, what to prepare before the snapshot)
CASES: list[tuple[str, Callable[[World], Any], str, str, str | None]] = [
    ("api-mark", post_json("/api/v1/therapists/{THERAPIST}/marks",
                           '{"statementId": {STATEMENT}, "observedOn": "2026-11-28", "observedOn": "1999-01-01"}',
                           lambda w: w.api("supervisor")), "observedOn", "/", None),
    ("api-complete", post_json("/api/v1/therapists/{THERAPIST}/levels/{LEVEL}/complete",
                               '{"justification": "a", "justification": "b"}', lambda w: w.api("supervisor")),
     "justification", "/", None),
    ("api-revoke", post_json("/api/v1/credentials/{CREDENTIAL}/revoke", '{"reason": "a", "reason": "b"}',
                             lambda w: w.api("supervisor")), "reason", "/", None),
    ("vc-api-verify", lambda w: post_json("/credentials/verify",
                                          '{"verifiableCredential": ' + doubled_subject_name(w.document) + "}")(w),
     "name", "/verifiableCredential/credentialSubject", None),
    ("vc-api-issue", post_json("/credentials/issue", '{"credential": {"name": "a", "name": "b"}}',
                               lambda w: w.api("admin")), "name", "/credential", None),
    ("api-verify-json", lambda w: post_json("/api/v1/verify", doubled_subject_name(w.document))(w),
     "name", "/credentialSubject", None),
    ("api-verify-png", verify_baked("png"), "name", "/credentialSubject", None),
    ("api-verify-svg", verify_baked("svg"), "name", "/credentialSubject", None),
    ("api-verify-jwt-payload", verify_jwt_payload, "iss", "/", None),
    ("verify-form-pasted", verify_form("credential"), "name", "/credentialSubject", None),
    ("verify-form-file", verify_form("file"), "name", "/credentialSubject", None),
    ("ob-upload", ob_upload, "name", "/credentialSubject", "ob"),
    ("ob-profile", post_json(f"{OB_API}/profile", '{"type": ["Profile"], "name": "A", "name": "B"}',
                             World.ob_token, method="put"), "name", "/", "ob"),
    ("oauth-register", post_json("/oauth/register", REGISTRATION), "redirect_uris", "/", None),
    ("oid4vci-credential", post_json(
        "/oid4vci/credential", '{"credential_configuration_id": "OpenBadgeCredential_ldp_vc", '
        '"credential_configuration_id": "OpenBadgeCredential_ldp_vc"}', World.oid4vci_token),
     "credential_configuration_id", "/", "oid4vci"),
    ("framework-upload", framework_upload, "schemaVersion", "/", "admin"),
    ("trust-registry-upload", trust_import, "did:web:partner.example", "/registry", "admin"),
]


@pytest.mark.parametrize(("send", "key", "where", "needs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_doubled_key_is_refused_with_400_and_nothing_is_stored(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID,
        send: Callable[[World], Any], key: str, where: str, needs: str | None) -> None:
    world = World(app, client, people, issued)
    world.prepare(needs)
    before = snapshot(app)
    response = send(world)
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:500]
    assert "duplicate " in body, body[:800]
    assert f"'{key}' in object at {where}" in body.replace("&#39;", "'"), body[:800]
    assert "Traceback" not in body
    assert snapshot(app) == before


def test_a_doubled_key_in_a_framework_file_is_refused_by_the_cli(
        app: Flask, runner: FlaskCliRunner, framework: Any, tmp_path: Path) -> None:
    path = tmp_path / "framework.json"
    path.write_bytes(doubled_framework())
    before = snapshot(app)
    result = runner.invoke(args=["frameworks", "import", str(path)])
    assert result.exit_code != 0
    assert "duplicate key 'schemaVersion' in object at /" in result.output
    assert snapshot(app) == before


def test_a_genuine_body_still_passes_where_a_doubled_one_is_refused(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID) -> None:
    """The refusals above are about the doubled key: the same bodies written once are accepted."""
    world = World(app, client, people, issued)
    response = client.post("/credentials/verify", data='{"verifiableCredential": ' + world.document + "}",
                           content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["verified"] is True, response.get_json()
    response = client.post(f"/api/v1/credentials/{issued}/revoke", data='{"reason": "mistake"}',
                           content_type="application/json", headers=world.api("supervisor"))
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.post("/oauth/register", data=REGISTRATION.replace(
        '"redirect_uris": ["https://evil.example.test/callback"], ', ""), content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(("body", "status", "words"), [
    ('{"reason": NaN}', 400, "NaN is not JSON"),
    ('{"reason": ' + "[" * 100 + "]" * 100 + "}", 400, "nested deeper than 64 levels"),
    ('{"reason": "' + "x" * 1_100_000 + '"}', 413, "larger than 1,048,576 bytes"),
    ('{"reason": "a"', 400, "not well-formed JSON"),
], ids=["nan", "too-deep", "too-large", "malformed"])
def test_other_json_refusals_are_400_and_too_large_is_413(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID, body: str, status: int,
        words: str) -> None:
    world = World(app, client, people, issued)
    before = snapshot(app)
    response = client.post(f"/api/v1/credentials/{issued}/revoke", data=body, content_type="application/json",
                           headers=world.api("supervisor"))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert words in response.get_json()["message"]
    assert snapshot(app) == before
