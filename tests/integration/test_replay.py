"""Replayed public answers (issuer.platform.replay): the very bytes Flask sent, only while their check holds, never
personal.

Each test counts the views that actually ran (``served``), so a replay is told apart from a fresh answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.extensions import db
from issuer.models import Credential, StatusList
from issuer.platform import database, replay
from tests.integration.test_verify_cache import change_status


@pytest.fixture
def served(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the replayable views, once each time one actually ran."""
    ran: list[str] = []
    names = {"credentials.verify_stored": "verify_issued", "api.verify": "answer",
             "wellknown.status_list": "signed_list"}
    for endpoint, name in names.items():
        real = app.view_functions[endpoint]

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            ran.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setitem(app.view_functions, endpoint, counted)
    return ran


def document_of(app: Flask, credential_id: uuid.UUID) -> bytes:
    with app.app_context():
        return db.session.get(Credential, credential_id).document.encode()


def test_a_repeated_verification_page_is_the_same_response_without_the_view(
        client: FlaskClient, issued: uuid.UUID, served: list[str]) -> None:
    first = client.get(f"/verify/{issued}")
    assert first.status_code == 200
    assert served == ["verify_issued"]
    again = client.get(f"/verify/{issued}")
    assert served == ["verify_issued"], "the repeat ran the view"
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    assert list(again.headers.items()) == list(first.headers.items())
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]  # the security headers come along


def test_a_change_is_seen_by_the_next_request(app: Flask, client: FlaskClient, issued: uuid.UUID,
                                              served: list[str]) -> None:
    client.get(f"/verify/{issued}")
    client.get(f"/verify/{issued}")
    assert served == ["verify_issued"]
    change_status(app, issued, "suspend")
    page = client.get(f"/verify/{issued}").get_data(as_text=True)
    assert served == ["verify_issued", "verify_issued"]
    assert "Suspended" in page


def test_status_lists_and_the_api_are_replayed_by_body(app: Flask, client: FlaskClient, issued: uuid.UUID,
                                                       served: list[str]) -> None:
    with app.app_context():
        list_id = db.session.query(StatusList.public_id).filter_by(purpose="revocation").scalar()
    assert client.get(f"/status/{list_id}").get_data() == client.get(f"/status/{list_id}").get_data()
    assert served == ["signed_list"]
    document = document_of(app, issued)
    answers = [client.post("/api/v1/verify", data=document, content_type="application/json") for _ in range(2)]
    assert answers[0].get_json()["verified"] is True
    assert answers[1].get_data() == answers[0].get_data()
    assert served == ["signed_list", "answer"]
    tampered = document.replace(b'"name": "', b'"name": "X', 1)
    other = client.post("/api/v1/verify", data=tampered, content_type="application/json")
    assert served[-1] == "answer"
    assert len(served) == 3  # another body is another request
    assert other.get_json()["verified"] is False


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer x"}, {"If-None-Match": '"x"'}])
def test_personal_and_conditional_requests_are_never_replayed(client: FlaskClient, issued: uuid.UUID,
                                                              served: list[str], headers: dict[str, str]) -> None:
    client.get(f"/verify/{issued}")
    if not headers:  # a cookie, of whatever name (the test client sends its jar as the Cookie header)
        client.set_cookie("anything", "x")
    for _ in range(2):
        assert client.get(f"/verify/{issued}", headers=headers).status_code == 200
    assert served == ["verify_issued"] * 3


def test_errors_and_signed_in_pages_are_not_kept(app: Flask, client: FlaskClient, issued: uuid.UUID,
                                                 served: list[str]) -> None:
    missing = uuid.uuid4()
    assert [client.get(f"/verify/{missing}").status_code for _ in range(2)] == [404, 404]
    assert served == ["verify_issued", "verify_issued"]
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "for this visitor only")]
    client.get(f"/verify/{issued}")
    client.delete_cookie("issuer_session")
    client.get(f"/verify/{issued}")  # the first anonymous answer; the flashed page above was not kept
    assert served == ["verify_issued"] * 4


def test_a_check_that_cannot_run_means_a_fresh_answer(client: FlaskClient, issued: uuid.UUID, served: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = client.get(f"/verify/{issued}")

    def broken() -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(database, "state_connection", broken)
    again = client.get(f"/verify/{issued}")
    assert served == ["verify_issued", "verify_issued"]
    assert again.get_data() == first.get_data()


def test_the_replay_cache_is_bounded(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    middleware = app.wsgi_app
    assert isinstance(middleware, replay.Replay)
    for n in range(middleware.stored.size + 10):
        client.get(f"/verify/{issued}?n={n}")
    assert len(middleware.stored._entries) == middleware.stored.size
