"""The request owns the transaction (``issuer.platform.transactions``): one commit for a request's work, nothing
left behind by a failing view, and reads that never write."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, exc, func, select, text, update
from sqlalchemy.orm import Session

from issuer.accounts import api_tokens
from issuer.extensions import db
from issuer.issuance import bulk, jobs, notices, revocation
from issuer.learning import record_book
from issuer.models import ApiToken, AuditEvent, Credential, Framework, StatementMark, StatusList, User, utcnow
from issuer.platform import database
from tests.conftest import AuthActions

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def watching(app: Flask) -> Iterator[dict[str, list[str]]]:
    """Every statement sent and every COMMIT, on every engine of the app (the reader's too, if it was made)."""
    seen: dict[str, list[str]] = {"statements": [], "commits": [], "session_commits": []}

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        seen["statements"].append(text)

    def committed(conn: Any) -> None:
        seen["commits"].append("COMMIT")

    def session_committed(session: Session) -> None:
        seen["session_commits"].append("commit")

    with app.app_context():
        engines = [db.engine]
        if db.engine.dialect.name == "postgresql":
            engines.append(database.reader_engine(app))
    for engine in engines:
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", committed)
    event.listen(Session, "after_commit", session_committed)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", committed)
        event.remove(Session, "after_commit", session_committed)


def writes(seen: dict[str, list[str]]) -> list[str]:
    return [s for s in seen["statements"] if s.lstrip().upper().startswith(WRITES)]


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalars(select(func.count()).select_from(model)).one()


@pytest.fixture
def tokens(app: Flask, people: dict[str, int]) -> dict[str, str]:
    """An API token per person, each used a moment ago (so a call does not note its use again)."""
    with app.app_context():
        made = {role: api_tokens.create_api_token(db.session, user=db.session.get_one(User, uid), name="t")
                for role, uid in people.items()}
        db.session.execute(update(ApiToken).values(last_used_at=dt.datetime.now(dt.UTC)))
        db.session.commit()
        return {role: new.secret for role, new in made.items()}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _mark_all(client: FlaskClient, people: dict[str, int], headers: dict[str, str], level: Any) -> None:
    for statement_id in level:
        response = client.post(f"/api/v1/therapists/{people['therapist']}/marks", headers=headers,
                               json={"statementId": statement_id, "observedOn": "2026-11-20", "note": "Seen."})
        assert response.status_code == 201, response.get_json()


def _first_level(app: Flask) -> tuple[int, list[int]]:
    with app.app_context():
        level = db.session.scalars(select(Framework)).one().levels[0]
        return level.id, [s.id for s in level.statements]


def test_an_api_completion_commits_once_with_its_idempotency_key_and_notice_after(
        app: Flask, client: FlaskClient, people: dict[str, int], tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    level_id, statements = _first_level(app)
    headers = bearer(tokens["supervisor"])
    _mark_all(client, people, headers, statements)
    sent: list[tuple[str, int]] = []

    def send(message: Any, *, about: str) -> None:  # the notice: it must see the credential committed
        with app.app_context(), Session(db.engine) as other:
            sent.append((about, other.scalars(select(func.count()).select_from(Credential)).one()))

    monkeypatch.setattr(notices, "send_quietly", send)
    url = f"/api/v1/therapists/{people['therapist']}/levels/{level_id}/complete"
    with watching(app) as seen:
        response = client.post(url, headers={**headers, "Idempotency-Key": "complete-once"})
    assert response.status_code == 201, response.get_json()
    assert seen["commits"] == ["COMMIT"]
    assert seen["session_commits"] == ["commit"]
    tables = " ".join(writes(seen)).lower()
    assert "credentials" in tables
    assert "idempotency_keys" in tables
    assert sent == [(response.get_json()["id"], 1)]  # after the commit, once
    with watching(app) as seen:
        replay = client.post(url, headers={**headers, "Idempotency-Key": "complete-once"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == response.get_json()
    assert writes(seen) == []
    assert count(app, Credential) == 1
    assert len(sent) == 1


def test_a_token_use_is_its_own_short_transaction_at_most_once_a_minute(
        app: Flask, client: FlaskClient, people: dict[str, int], tokens: dict[str, str]) -> None:
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_used_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
        db.session.commit()
    _, statements = _first_level(app)
    body = {"statementId": statements[0], "observedOn": "2026-11-20", "note": "Seen."}
    path = f"/api/v1/therapists/{people['therapist']}/marks"
    with watching(app) as seen:
        first = client.post(path, headers=bearer(tokens["supervisor"]), json=body)
    assert first.status_code == 201
    token_writes = [s for s in writes(seen) if "api_tokens" in s.lower()]
    assert len(token_writes) == 1
    assert len(seen["commits"]) == 2
    assert seen["statements"].index(token_writes[0]) < min(
        seen["statements"].index(s) for s in writes(seen) if "statement_marks" in s.lower())
    with watching(app) as seen:
        again = client.post(path, headers=bearer(tokens["supervisor"]), json={**body, "statementId": statements[1]})
    assert again.status_code == 201
    assert [s for s in writes(seen) if "api_tokens" in s.lower()] == []
    assert len(seen["commits"]) == 1
    # A call that fails still counts as a use; its own work is gone.
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_used_at=None))
        db.session.commit()
    refused = client.post(path, headers=bearer(tokens["supervisor"]), json={**body, "statementId": 10**6})
    assert refused.status_code in (400, 404)
    with app.app_context():
        token = db.session.scalars(select(ApiToken).filter_by(user_id=people["supervisor"])).one()
        assert token.last_used_at is not None
    assert count(app, StatementMark) == 2


def test_a_web_form_post_commits_once(app: Flask, client: FlaskClient, auth: AuthActions,
                                      people: dict[str, int]) -> None:
    _, statements = _first_level(app)
    auth.login("sup@example.test")
    path = f"/supervisor/therapists/{people['therapist']}/statements/{statements[0]}/mark"
    with watching(app) as seen:
        response = auth.post(path, data={"observed_on": "2026-11-20", "note": "Seen in session."})
    assert response.status_code == 302
    assert seen["commits"] == ["COMMIT"]
    assert count(app, StatementMark) == 1


def _failing_after_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    real = record_book.mark_statement

    def mark_then_fail(session: Session, **kwargs: Any) -> Any:
        real(session, **kwargs)
        session.flush()  # the rows are in the transaction
        assert session.scalar(select(func.count()).select_from(StatementMark)) == 1
        raise RuntimeError("the service broke after writing")

    monkeypatch.setattr(record_book, "mark_statement", mark_then_fail)


def test_a_failing_api_view_leaves_nothing_behind(app: Flask, client: FlaskClient, people: dict[str, int],
                                                  tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, statements = _first_level(app)
    _failing_after_flush(monkeypatch)
    audit_before = count(app, AuditEvent)
    response = client.post(f"/api/v1/therapists/{people['therapist']}/marks", headers=bearer(tokens["supervisor"]),
                           json={"statementId": statements[0], "observedOn": "2026-11-20", "note": "Seen."})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error",
                                   "message": "Something went wrong on our side. It has been logged."}
    assert count(app, StatementMark) == 0
    assert count(app, AuditEvent) == audit_before


def test_a_failing_web_view_leaves_nothing_behind(app: Flask, client: FlaskClient, auth: AuthActions,
                                                  people: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    _, statements = _first_level(app)
    auth.login("sup@example.test")
    _failing_after_flush(monkeypatch)
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/statements/{statements[0]}/mark",
                         data={"observed_on": "2026-11-20", "note": "Seen in session."})
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert b"Traceback" not in response.data
    assert b"Something went wrong" in response.data
    assert count(app, StatementMark) == 0


@pytest.mark.parametrize("failure", ["locked", "serialization", "constraint"])
def test_a_commit_that_fails_is_a_clear_answer_and_keeps_nothing(
        app: Flask, client: FlaskClient, auth: AuthActions, people: dict[str, int], tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    _, statements = _first_level(app)

    class SerializationFailure(Exception):
        sqlstate = "40001"

    errors = {
        "locked": exc.OperationalError("COMMIT", {}, Exception("database is locked")),
        "serialization": exc.OperationalError("COMMIT", {}, SerializationFailure("could not serialize access")),
        "constraint": exc.IntegrityError("COMMIT", {}, Exception("UNIQUE constraint failed")),
    }

    def failing_commit(session: Session) -> None:
        raise errors[failure]

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = client.post(f"/api/v1/therapists/{people['therapist']}/marks", headers=bearer(tokens["supervisor"]),
                           json={"statementId": statements[0], "observedOn": "2026-11-20", "note": "Seen."})
    expected = {"locked": 503, "serialization": 503, "constraint": 409}[failure]
    assert response.status_code == expected
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert "nothing was saved" in body["message"]
    if expected == 503:
        assert response.headers["Retry-After"] == "1"
    monkeypatch.undo()
    auth.login("sup@example.test")
    monkeypatch.setattr(Session, "commit", failing_commit)
    page = auth.post(f"/supervisor/therapists/{people['therapist']}/statements/{statements[0]}/mark",
                     data={"observed_on": "2026-11-20", "note": "Seen in session."})
    assert page.status_code == expected
    assert page.mimetype == "text/html"
    assert b"nothing was saved" in page.data
    monkeypatch.undo()
    assert "as met." not in client.get(f"/supervisor/therapists/{people['therapist']}").get_data(as_text=True)
    assert count(app, StatementMark) == 0


@pytest.fixture
def seeded(app: Flask, people: dict[str, int], issued: uuid.UUID, tokens: dict[str, str]) -> dict[str, Any]:
    """Real ids for every GET route's arguments: an issued credential, its lists, a therapist with a public
    profile, the framework, a mark, an achievement, a bulk issuance job."""
    with app.app_context():
        credential = db.session.get_one(Credential, issued)
        credential.public = True
        therapist = db.session.get_one(User, people["therapist"])
        therapist.handle, therapist.public_profile = "taylor", True
        framework = db.session.scalars(select(Framework)).one()
        row = bulk.Row(line=2, therapist_email="ther@example.test", level="Developing", completion_date="",
                       supervisor_email="sup@example.test", status="ok")
        job = jobs.create_job(db.session, db.session.get_one(User, people["admin"]), [row])
        db.session.commit()
        return {
            "credential_id": str(issued),
            "list_id": str(db.session.scalars(select(StatusList)).first().public_id),
            "therapist_id": str(people["therapist"]),
            "mark_id": str(db.session.scalars(select(StatementMark)).first().id),
            "achievement_id": str(credential.level.achievement_id),
            "slug": framework.slug,
            "handle": "taylor",
            "filename": "site.css",
            "job_id": str(job.id),
            "framework_id": str(framework.id),
            "level_id": str(credential.level_id),
        }


EXTENSIONS = {"credentials.download": ["json", "jwt", "png", "svg"], "credentials.qr": ["svg", "png"],
              "credentials.badge": ["svg", "png"]}
ROLES = {"anonymous": None, "therapist": "ther@example.test", "supervisor": "sup@example.test",
         "other": "other@example.test", "admin": "admin@example.test"}


def _placeholder(rule: Any, name: str) -> str:
    """A value the rule's converter builds: one of an ``any(...)`` converter's words, else "1"."""
    items = getattr(rule._converters.get(name), "items", None)
    return str(min(items)) if items else "1"


def _get_paths(app: Flask, ids: dict[str, str]) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        for ext in EXTENSIONS.get(rule.endpoint, [None]):
            # An argument without a seeded id gets "1": the page answers 404 or 403 then, and must not write either.
            values: dict[str, Any] = {name: ids.get(name, _placeholder(rule, name))
                                      for name in rule.arguments if name != "ext"}
            if ext is not None:
                values["ext"] = ext
            with app.test_request_context():
                from flask import url_for

                paths.append(url_for(rule.endpoint, **values))
    return sorted(set(paths))


def test_get_requests_never_write(app: Flask, client: FlaskClient, auth: AuthActions, seeded: dict[str, Any],
                                  tokens: dict[str, str]) -> None:
    paths = _get_paths(app, seeded)
    for must in ("/verify/", "/status/", "/credentials/", "/.well-known/did.json", "/.well-known/jwks.json",
                 "/.well-known/oauth-authorization-server", "/.well-known/openid-credential-issuer", ".jwt", ".png"):
        assert any(must in p for p in paths), must
    answered: dict[int, int] = {}
    for role, email in ROLES.items():
        if email:
            auth.login(email)
        headers = bearer(tokens[role]) if role in tokens else {}
        for path in paths:
            with watching(app) as seen:
                response = client.get(path, headers=headers)
                response.close()
            assert response.status_code < 500, (role, path, response.status_code)
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            assert writes(seen) == [], (role, path, writes(seen))
            assert seen["commits"] == [], (role, path)
            assert seen["session_commits"] == [], (role, path)
        if email:
            auth.logout()
    assert answered.get(200, 0) > len(paths)  # most routes really answered, for some role at least


def test_verification_writes_nothing(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    """POST /api/v1/verify, uncached and cached, and the verification page: reads only (the rate limit is off)."""
    with app.app_context():
        document = db.session.get(Credential, issued).document
    for _ in range(2):
        with watching(app) as seen:
            response = client.post("/api/v1/verify", data=document, content_type="application/json")
            page = client.get(f"/verify/{issued}")
        assert response.status_code == 200
        assert response.get_json()["verified"] is True
        assert page.status_code == 200
        assert writes(seen) == []
        assert seen["commits"] == []
        assert seen["session_commits"] == []


def test_a_change_that_loses_to_concurrent_work_is_a_503_with_retry_after_and_keeps_nothing(
        app: Flask, client: FlaskClient, issued: uuid.UUID, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """For real, not a mocked error: another transaction holds the write lock (SQLite: "database is locked") or
    the status list's row lock (PostgreSQL: 55P03) past the request's lock timeout."""
    real = revocation.change
    with app.app_context():
        backend = db.engine.dialect.name
        engine = db.engine
        list_id = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one().id
    other = engine.connect()
    holding: list[Any] = []

    def change_meanwhile(session: Session, credential: Credential, **kwargs: Any) -> Any:
        session.execute(text("SET LOCAL lock_timeout = '100ms'"))
        holding.append(other.begin())
        other.execute(select(StatusList.id).where(StatusList.id == list_id).with_for_update())
        return real(session, credential, **kwargs)

    def wait_briefly(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 100")  # the request's connections wait 0.1 s, not 15

    if backend == "sqlite":  # a writing request waits for the write lock at its BEGIN IMMEDIATE: take it first
        event.listen(engine, "checkout", wait_briefly)
        holding.append(other.begin())
        other.execute(update(StatusList).where(StatusList.id == list_id).values(updated_at=utcnow()))
    else:
        monkeypatch.setattr(revocation, "change", change_meanwhile)
    try:
        response = client.post(f"/api/v1/credentials/{issued}/revoke", headers=bearer(tokens["supervisor"]),
                               json={"reason": "Issued in error."})
    finally:
        for transaction in holding:
            transaction.rollback()
        other.close()
        if backend == "sqlite":
            event.remove(engine, "checkout", wait_briefly)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"] == "busy"
    with app.app_context():
        credential = db.session.get(Credential, issued)
        assert credential.revoked_at is None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.like("credential.%revoke%"))) == 0
    monkeypatch.undo()
    again = client.post(f"/api/v1/credentials/{issued}/revoke", headers=bearer(tokens["supervisor"]),
                        json={"reason": "Issued in error."})
    assert again.status_code == 200  # tried again, it goes through


def test_actions_after_the_commit_follow_savepoints(app: Flask) -> None:
    """A bulk upload issues each row in a savepoint: a row undone alone drops its own notice, never the others'."""
    from issuer.platform.on_commit import on_commit

    ran: list[str] = []
    with app.app_context():
        session = db.session
        session.execute(select(func.count()).select_from(User))
        on_commit(session, lambda: ran.append("before"))
        with session.begin_nested():
            on_commit(session, lambda: ran.append("good row"))
        def bad_row() -> None:
            with session.begin_nested():
                on_commit(session, lambda: ran.append("bad row"))
                raise RuntimeError("this row failed")

        with pytest.raises(RuntimeError):
            bad_row()
        assert ran == []  # a released savepoint is not the commit
        session.commit()
        assert ran == ["before", "good row"]
        on_commit(session, lambda: ran.append("rolled back"))
        session.execute(select(func.count()).select_from(User))
        session.rollback()
        session.commit()
    assert ran == ["before", "good row"]
