"""The JSON API: tokens, records, marking, completing, idempotency, verification, OpenAPI coverage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from issuer.accounts import api_tokens
from issuer.api import auth as api_auth
from issuer.extensions import db
from issuer.models import ApiToken, Credential, Framework, StatementMark, User


@pytest.fixture
def api(app: Flask, people: dict[str, int]) -> dict[str, Any]:
    with app.app_context():
        tokens = {}
        for role in ("supervisor", "other", "therapist", "admin"):
            tokens[role] = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people[role]),
                                                     name="tests").secret
        level = db.session.scalars(select(Framework)).one().levels[0]
        ids = {"level": level.id, "statements": [s.id for s in level.statements]}
        db.session.commit()
    return {"people": people, "tokens": tokens, **ids}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_bad_token_is_401(client: FlaskClient, api: dict[str, Any]) -> None:
    assert client.get("/api/v1/therapists").status_code == 401
    response = client.get("/api/v1/therapists", headers=bearer("isk_not-a-real-token"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_tokens_are_stored_hashed(app: Flask, api: dict[str, Any]) -> None:
    with app.app_context():
        stored = [t.token_hash for t in db.session.scalars(select(ApiToken))]
    assert api["tokens"]["supervisor"] not in stored
    assert all(len(h) == 64 for h in stored)


def test_supervisor_lists_only_assigned_therapists(client: FlaskClient, api: dict[str, Any]) -> None:
    mine = client.get("/api/v1/therapists", headers=bearer(api["tokens"]["supervisor"])).get_json()
    assert [t["name"] for t in mine["therapists"]] == ["Taylor Therapist"]
    other = client.get("/api/v1/therapists", headers=bearer(api["tokens"]["other"])).get_json()
    assert other["therapists"] == []
    therapist_id = api["people"]["therapist"]
    assert client.get(f"/api/v1/therapists/{therapist_id}/record",
                      headers=bearer(api["tokens"]["other"])).status_code == 404


def test_mark_and_complete_through_the_api_with_idempotency(app: Flask, client: FlaskClient,
                                                            api: dict[str, Any]) -> None:
    therapist_id = api["people"]["therapist"]
    headers = bearer(api["tokens"]["supervisor"])
    for n, sid in enumerate(api["statements"]):
        body = {"statementId": sid, "observedOn": "2026-11-20", "note": f"session {n}"}
        first = client.post(f"/api/v1/therapists/{therapist_id}/marks", json=body,
                            headers={**headers, "Idempotency-Key": f"mark-{sid}"})
        assert first.status_code == 201, first.get_json()
        replay = client.post(f"/api/v1/therapists/{therapist_id}/marks", json=body,
                             headers={**headers, "Idempotency-Key": f"mark-{sid}"})
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.get_json() == first.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementMark)) == 10
    url = f"/api/v1/therapists/{therapist_id}/levels/{api['level']}/complete"
    issued = client.post(url, headers={**headers, "Idempotency-Key": "complete-1"})
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["credential"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert body["jwt"].count(".") == 2
    replay = client.post(url, headers={**headers, "Idempotency-Key": "complete-1"})
    assert replay.status_code == 201
    assert replay.get_json()["id"] == body["id"]
    again = client.post(url, headers={**headers, "Idempotency-Key": "complete-2"})
    assert again.status_code == 409
    assert again.get_json()["details"]["credential_id"] == body["id"]
    reused = client.post(f"/api/v1/therapists/{therapist_id}/marks",
                         headers={**headers, "Idempotency-Key": "complete-1"},
                         json={"statementId": api["statements"][0], "observedOn": "2026-11-20"})
    assert reused.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 1
    verified = client.post("/api/v1/verify", json=body["credential"])
    assert verified.status_code == 200
    assert verified.get_json()["verified"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"statementId": "one", "observedOn": "2026-11-20"}, "statementId must be an integer"),
        ({"statementId": 1, "observedOn": "yesterday"}, "observedOn must be a date"),
        ({"statementId": 1, "observedOn": "2999-01-01"}, "cannot be in the future"),
        ({"statementId": 1, "observedOn": "2026-11-20", "evidenceUrl": "javascript:alert(1)"}, "http(s)"),
        ({"statementId": 1, "observedOn": "2026-11-20", "note": "pasted\bfrom a terminal"}, "control character U+0008"),
    ],
)
def test_bad_input_gets_400_with_a_message(client: FlaskClient, api: dict[str, Any], body: dict[str, Any],
                                           message: str) -> None:
    body = {**body, "statementId": api["statements"][0]} if body["statementId"] == 1 else body
    response = client.post(f"/api/v1/therapists/{api['people']['therapist']}/marks", json=body,
                           headers=bearer(api["tokens"]["supervisor"]))
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_not_json_is_400(client: FlaskClient, api: dict[str, Any]) -> None:
    response = client.post(f"/api/v1/therapists/{api['people']['therapist']}/marks", data="statementId=1",
                           headers=bearer(api["tokens"]["supervisor"]))
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]


def test_verify_unreadable_is_400_and_unknown_route_is_json_404(client: FlaskClient, api: dict[str, Any]) -> None:
    bad = client.post("/api/v1/verify", data="{not json", content_type="application/json")
    assert bad.status_code == 400
    body = bad.get_json()
    assert body["verified"] is False
    assert body["checks"][0]["check"] == "format"
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "not_found"


def test_verify_body_over_limit_is_413(client: FlaskClient, api: dict[str, Any]) -> None:
    response = client.post("/api/v1/verify", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                           content_type="application/json")
    assert response.status_code == 413


def test_every_api_route_is_documented(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.removeprefix("/api/v1")
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<uuid:{name}>", f"{{{name}}}")
        if "<any(" in path:
            head, _, tail = path.partition("<any(")
            options, _, _ = tail.partition(")")
            for option in options.split(","):
                routes |= {(head + option.strip(), m.lower()) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
            continue
        routes |= {(path, m.lower()) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_a_token_records_its_last_use_to_the_minute_without_writing_on_every_call(
    app: Flask, client: FlaskClient, api: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    clock = [start]
    monkeypatch.setattr(api_auth, "utcnow", lambda: clock[0])
    token_updates: list[str] = []
    with app.app_context():
        engine = db.engine

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            token_updates.append(statement)

    def last_used() -> dt.datetime | None:
        with app.app_context():
            query = select(ApiToken.last_used_at).filter_by(user_id=api["people"]["supervisor"])
            return db.session.scalars(query).one()

    event.listen(engine, "before_cursor_execute", listen)
    try:
        headers = bearer(api["tokens"]["supervisor"])
        assert last_used() is None
        assert client.get("/api/v1/therapists", headers=headers).status_code == 200
        assert last_used() == start
        assert len(token_updates) == 1
        for seconds in (1, 30, 59):  # within the minute: the row is left alone
            clock[0] = start + dt.timedelta(seconds=seconds)
            assert client.get("/api/v1/therapists", headers=headers).status_code == 200
        assert last_used() == start
        assert len(token_updates) == 1
        clock[0] = start + dt.timedelta(seconds=60)
        assert client.get("/api/v1/therapists", headers=headers).status_code == 200
        assert last_used() == clock[0]
        assert len(token_updates) == 2
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_revoked_token_stops_working(app: Flask, client: FlaskClient, api: dict[str, Any]) -> None:
    with app.app_context():
        token = db.session.scalars(select(ApiToken).filter_by(user_id=api["people"]["supervisor"])).one()
        api_tokens.revoke_api_token(db.session, user=token.user, token_id=token.id)
        db.session.commit()
    assert client.get("/api/v1/therapists", headers=bearer(api["tokens"]["supervisor"])).status_code == 401
