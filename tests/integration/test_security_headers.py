"""Security headers on every HTML route, and the session cookie's attributes."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from issuer import create_app
from issuer.extensions import db
from tests.conftest import AuthActions
from tests.integration.helpers import issue, seed_people


def fill(rule: str, values: dict[str, str]) -> str | None:
    path = rule
    for name in re.findall(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", rule):
        if name not in values:
            return None
        path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", values[name], path)
    return path


def test_every_html_route_sends_the_security_headers(app: Flask) -> None:
    people = seed_people(app)
    credential_id = issue(app, people)
    from sqlalchemy import select

    from issuer.models import Framework, StatementMark, StatusList

    with app.app_context():
        fw = db.session.scalars(select(Framework)).one()
        values = {"credential_id": str(credential_id), "slug": fw.slug,
                  "achievement_id": str(fw.levels[0].achievement_id),
                  "therapist_id": str(people["therapist"]), "ext": "svg", "handle": "nobody",
                  "mark_id": str(db.session.scalars(select(StatementMark)).first().id),
                  "list_id": str(db.session.scalars(select(StatusList)).first().public_id), "filename": "site.css"}
    checked = 0
    for email in (None, "sup@example.test", "ther@example.test", "admin@example.test"):
        client = app.test_client()
        if email:
            AuthActions(client).login(email)
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()):
                continue
            path = fill(rule.rule, values)
            if path is None:
                continue
            response = client.get(path)
            response.close()  # static files are streamed from an open file
            headers = response.headers
            assert headers.get("X-Content-Type-Options") == "nosniff", path
            if response.mimetype == "text/html":
                csp = headers["Content-Security-Policy"]
                assert "unsafe-inline" not in csp, path
                assert "frame-ancestors 'none'" in csp, path
                assert headers["Referrer-Policy"], path
                checked += 1
    assert checked > 40


def test_https_deployments_get_a_host_prefixed_secure_cookie(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "ISSUER_BASE_URL": "https://credentials.example.org"})
    with app.app_context():
        db.create_all()
    seed_people(app)
    client = app.test_client()
    response = AuthActions(client).login("sup@example.test")
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if c.startswith("__Host-session="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
