"""Cached verification answers: reused while nothing they rest on has changed, never a moment longer.

Every test first proves that the answer really comes from the cache (the verifier does not run again, one
query is made), so that the change which follows is seen through the cache, not around it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from issuer.credentials import eddsa_rdfc_2022, keyfiles, multikey
from issuer.credentials.digest import document_digest
from issuer.credentials.multikey import did_key_verification_method
from issuer.credentials.verify import verify as full_verify
from issuer.extensions import db
from issuer.identity import did_web, keystore
from issuer.issuance import revocation, signing
from issuer.models import Credential, IssuedDocument, IssuerKey, StatusList, utcnow
from issuer.platform import database
from issuer.verification import trust, verifier
from tests.conftest import AuthActions
from tests.integration.helpers import issue

RECIPIENT = "Taylor Therapist"


@pytest.fixture
def verifier_runs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every input the full verifier is run on (credentials and status lists alike)."""
    runs: list[Any] = []
    real = full_verify

    def counted(data: Any, **kwargs: Any) -> Any:
        runs.append(data)
        return real(data, **kwargs)

    monkeypatch.setattr(verifier, "run_verifier", counted)
    return runs


@pytest.fixture
def selects(app: Flask) -> Iterator[list[str]]:
    """The SELECT statements sent to the database (SQLite's explicit BEGIN is not one)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engines = statement_sources(app)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


def statement_sources(app: Flask) -> list[Any]:
    """The app's engines: the session's, and on PostgreSQL the reader of read-only requests."""
    with app.app_context():
        engine = db.engine
    return [engine, database.reader_engine(app)] if engine.dialect.name == "postgresql" else [engine]


def document_of(app: Flask, credential_id: uuid.UUID) -> str:
    with app.app_context():
        return db.session.get(Credential, credential_id).document


def api(client: FlaskClient, document: str) -> dict[str, Any]:
    response = client.post("/api/v1/verify", data=document, content_type="application/json")
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    return answer


def status_message(result: dict[str, Any]) -> str:
    message: str = next(c["message"] for c in result["checks"] if c["check"] == "status")
    return message


def page(client: FlaskClient, credential_id: uuid.UUID) -> str:
    response = client.get(f"/verify/{credential_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def change_status(app: Flask, credential_id: uuid.UUID, action: str) -> None:
    """Through the service, committed, as the web, API and CLI do."""
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action=action, reason="Board decision.", actor=None)
        db.session.commit()


def warm(app: Flask, client: FlaskClient, credential_id: uuid.UUID, verifier_runs: list[Any]) -> str:
    """Verify through the page and the API once, then again: the repeats must not run the verifier."""
    document = document_of(app, credential_id)
    assert "Verified" in page(client, credential_id)
    assert api(client, document)["verified"] is True
    runs = len(verifier_runs)
    assert "✓ Verified" in page(client, credential_id)
    assert api(client, document)["verified"] is True
    assert len(verifier_runs) == runs, "the repeated verifications were not served from the cache"
    return document


def test_a_repeated_verification_costs_one_query_and_no_verifier_run(
        app: Flask, client: FlaskClient, issued: uuid.UUID, verifier_runs: list[Any], selects: list[str]) -> None:
    document = warm(app, client, issued, verifier_runs)
    requests: tuple[Callable[[], TestResponse], ...] = (
        lambda: client.get(f"/verify/{issued}"),
        lambda: client.post("/api/v1/verify", data=document, content_type="application/json"))
    for request in requests:
        selects.clear()
        assert request().status_code == 200
        assert len(selects) == 1, selects


def test_revocation_shows_at_once_through_the_cache(
        app: Flask, client: FlaskClient, issued: uuid.UUID, verifier_runs: list[Any]) -> None:
    document = warm(app, client, issued, verifier_runs)
    change_status(app, issued, "revoke")
    html = page(client, issued)
    assert "Revoked on" in html
    assert "Not verified" in html
    assert "✓ Verified" not in html
    result = api(client, document)
    assert result["verified"] is False
    assert status_message(result) == "the issuer has revoked this credential"


def test_suspension_and_its_lifting_show_at_once_through_the_cache(
        app: Flask, client: FlaskClient, issued: uuid.UUID, verifier_runs: list[Any]) -> None:
    document = warm(app, client, issued, verifier_runs)
    change_status(app, issued, "suspend")
    html = page(client, issued)
    assert "Suspended since" in html
    assert "Not verified" in html
    assert status_message(api(client, document)) == "the issuer has suspended this credential"
    change_status(app, issued, "unsuspend")
    html = page(client, issued)
    assert "Suspended since" not in html
    assert "✓ Verified" in html
    assert api(client, document)["verified"] is True


def test_a_rolled_back_status_change_never_answers_for_a_later_one(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID) -> None:
    """A version number comes round again after a rollback; the list it then names is another list."""
    other = issue(app, people, 1)
    document = document_of(app, issued)
    with app.test_request_context():
        revocation.change(db.session, db.session.get_one(Credential, issued), action="revoke", reason="Draft.",
                          actor=None)
        assert verifier.verify_any(db.session, document).verified is False  # answered from the uncommitted list
        db.session.rollback()
    change_status(app, other, "revoke")  # the same list reaches the same version, with another bit set
    assert api(client, document)["verified"] is True
    assert api(client, document_of(app, other))["verified"] is False


def _sign_with_new_key(app: Flask, document: str) -> tuple[str, IssuerKey]:
    """The credential re-signed with a new Ed25519 key whose file exists but which is not published yet, and the
    row that publishes it (what ``keystore.generate_key`` writes)."""
    private = keyfiles.generate_ed25519()
    kid = f"ed25519-test-{uuid.uuid4().hex[:8]}"
    unsigned = {k: v for k, v in json.loads(document).items() if k != "proof"}
    with app.test_request_context():
        keyfiles.write_private_key(keystore.key_path(kid), private, passphrase=None)
        signed = eddsa_rdfc_2022.sign(unsigned, private_key=private,
                                      verification_method=did_web.verification_method(kid),
                                      created=utcnow(), document_loader=signing.DOCUMENT_LOADER)
    public = private.public_key()
    row = IssuerKey(kid=kid, algorithm=keystore.ED25519, public_multibase=multikey.encode_ed25519_multikey(public),
                    public_jwk=multikey.public_jwk(public, kid=kid), created_at=utcnow(), retired_at=None)
    return json.dumps(signed), row


def test_our_content_signed_with_a_key_of_ours_is_still_not_ours_unless_we_issued_it(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    """A leaked or retired key can sign; only the registry says what this service issued."""
    document, key = _sign_with_new_key(app, document_of(app, issued))
    with app.app_context():
        db.session.add(key)  # published, as a rotated-out key still is
        db.session.commit()
    result = api(client, document)
    assert result["verified"] is False
    assert [c["check"] for c in result["checks"]] == ["format", "issuer"]
    assert "Not issued by this service" in result["checks"][1]["message"]


def _did_key_credential(app: Flask, document: str) -> tuple[str, str]:
    """Our credential's content, issued and signed by a did:key: (the signed JSON, the did:key)."""
    private = keyfiles.generate_ed25519()
    did = did_key_verification_method(private.public_key()).split("#", 1)[0]
    unsigned = {k: v for k, v in json.loads(document).items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": did, "name": "Clinical Competency Credentials"}
    with app.test_request_context():
        signed = eddsa_rdfc_2022.sign(unsigned, private_key=private,
                                      verification_method=did_key_verification_method(private.public_key()),
                                      created=utcnow(), document_loader=signing.DOCUMENT_LOADER)
    return json.dumps(signed), did


def test_an_issuer_put_on_the_trust_list_after_a_failed_verification_is_recognised_at_once(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    document, did = _did_key_credential(app, document_of(app, issued))
    first = api(client, document)
    assert first["verified"] is False
    assert next(c for c in first["checks"] if c["check"] == "issuer")["message"] == f"Issuer not recognised: {did}"
    assert api(client, document)["verified"] is False  # cached
    with app.test_request_context():
        trust.add(db.session, issuer_id=did, name="Partner Clinic")
        db.session.commit()
    assert api(client, document)["verified"] is True
    with app.test_request_context():
        trust.remove(db.session, issuer_id=did)
        db.session.commit()
    assert api(client, document)["verified"] is False


def test_a_key_revoked_after_a_compromise_fails_what_it_signed_at_once(
        app: Flask, client: FlaskClient, issued: uuid.UUID, verifier_runs: list[Any]) -> None:
    document = warm(app, client, issued, verifier_runs)
    with app.app_context():
        kid = db.session.get(Credential, issued).key_id
        key = db.session.scalars(select(IssuerKey).filter_by(kid=kid)).one()
        key.revoked_at, key.revocation_reason = utcnow(), "Key file copied off the server."
        db.session.commit()
    assert "Not verified" in page(client, issued)
    result = api(client, document)
    assert result["verified"] is False
    assert f"signed with key {kid}, which was revoked" in next(c["message"] for c in result["checks"] if not c["ok"])


@pytest.mark.parametrize("change", ["rotate", "retire"])
def test_rotating_or_retiring_keys_is_seen_by_cached_answers(
        app: Flask, client: FlaskClient, issued: uuid.UUID, verifier_runs: list[Any], change: str) -> None:
    """Retired keys stay published, so the answer stays "verified", but it is worked out again, not assumed."""
    document = warm(app, client, issued, verifier_runs)
    with app.app_context():
        if change == "rotate":
            keystore.rotate(db.session)
        else:
            keystore.current_key(db.session, keystore.RSA).retired_at = utcnow()
        db.session.commit()
    runs = len(verifier_runs)
    assert "✓ Verified" in page(client, issued)
    assert api(client, document)["verified"] is True
    assert document in verifier_runs[runs:], "the API answer was not worked out again"
    assert len(verifier_runs) > runs + 1, "the page's answer was not worked out again"


class _TwoHoursLater(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + timedelta(hours=2)


@pytest.mark.parametrize(("field", "before", "after"), [("validUntil", True, False), ("validFrom", False, True)])
def test_a_cached_answer_ends_when_a_validity_date_passes(
        app: Flask, client: FlaskClient, issued: uuid.UUID, monkeypatch: pytest.MonkeyPatch,
        field: str, before: bool, after: bool) -> None:
    unsigned = {k: v for k, v in json.loads(document_of(app, issued)).items() if k != "proof"}
    unsigned[field] = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    unsigned["id"] = f"urn:uuid:{uuid.uuid4()}"
    with app.test_request_context():
        signed, kid = signing.sign_document(db.session, unsigned, now=utcnow())
        # on record, as a VC-API issuance is
        db.session.add(IssuedDocument(id=signed["id"], kind="vcapi", digest=document_digest(signed), key_id=kid,
                                      issued_at=utcnow()))
        db.session.commit()
    document = json.dumps(signed)
    assert api(client, document)["verified"] is before
    assert api(client, document)["verified"] is before  # cached
    monkeypatch.setattr(verifier, "datetime", _TwoHoursLater)
    assert api(client, document)["verified"] is after


def test_the_anonymous_page_holds_nothing_of_one_visitor(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    for _ in range(2):  # rendered, then cached
        response = client.get(f"/verify/{issued}")
        html = response.get_data(as_text=True)
        assert "csrf_token" not in html
        assert "nonce" not in html
        assert "Sign out" not in html
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-cache"
        assert "Cookie" in response.headers["Vary"]


def test_the_anonymous_page_revalidates_with_its_etag(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    etag = client.get(f"/verify/{issued}").headers["ETag"]
    again = client.get(f"/verify/{issued}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    change_status(app, issued, "revoke")
    changed = client.get(f"/verify/{issued}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Revoked on" in changed.get_data(as_text=True)


def test_signed_in_and_anonymous_viewers_never_get_each_others_page(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    anonymous = app.test_client()
    assert "Sign in" in page(anonymous, issued)  # now cached
    auth = AuthActions(client)
    auth.login("ther@example.test")
    response = client.get(f"/verify/{issued}")
    html = response.get_data(as_text=True)
    assert "Sign out" in html
    assert 'name="csrf_token"' in html
    assert response.headers["Cache-Control"] == "private, no-store"
    html = page(app.test_client(), issued)
    assert "Sign out" not in html
    assert "csrf_token" not in html
    auth.logout()
    farewell = page(client, issued)  # a message waiting for this one visitor: rendered for them alone
    assert "You are signed out." in farewell
    assert "Sign out" not in farewell
    for visitor in (client, anonymous):
        html = page(visitor, issued)
        assert "You are signed out." not in html
        assert "Sign out" not in html
        assert "Sign in" in html


def test_a_private_credentials_anonymous_page_never_names_the_recipient(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    def set_public(public: bool) -> None:
        with app.app_context():
            db.session.get(Credential, issued).public = public
            db.session.commit()

    assert RECIPIENT in page(client, issued)  # a public credential names its recipient; now cached
    set_public(False)
    assert RECIPIENT not in page(client, issued)
    assert RECIPIENT not in page(client, issued)  # cached
    owner = app.test_client()
    AuthActions(owner).login("ther@example.test")
    assert RECIPIENT in page(owner, issued)
    assert RECIPIENT not in page(client, issued)
    set_public(True)
    assert RECIPIENT in page(client, issued)


@contextmanager
def writes_during(app: Flask) -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements sent meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    engines = statement_sources(app)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def test_a_status_list_is_signed_when_created_and_served_with_one_query_and_no_write(
        app: Flask, client: FlaskClient, issued: uuid.UUID, selects: list[str]) -> None:
    with app.app_context():
        status_list = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one()
        assert status_list.signed_document is not None
        assert status_list.signed_version == status_list.version
        path, signed = f"/status/{status_list.public_id}", status_list.signed_document
    selects.clear()
    with writes_during(app) as writes:
        served = client.get(path)
    assert served.status_code == 200
    assert served.get_data(as_text=True) == signed
    assert len(selects) == 1, selects
    assert writes == []


def test_a_list_never_signed_is_not_signed_by_a_read_but_by_the_command(
        app: Flask, client: FlaskClient, runner: Any, issued: uuid.UUID, selects: list[str]) -> None:
    """Lists created before lists were signed at creation: a read refuses them (503) and writes nothing;
    ``issuer status-lists resign`` signs them once, and then a read serves the kept signature."""
    with app.app_context():
        status_list = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one()
        status_list.signed_document, status_list.signed_version = None, None
        path = f"/status/{status_list.public_id}"
        db.session.commit()
    refused = client.get(path, headers={"Accept": "application/json"})
    assert refused.status_code == 503
    assert "status-lists resign" in refused.get_json()["message"]
    with app.app_context():
        document = db.session.get(Credential, issued).document
    verified = client.post("/api/v1/verify", data=document, content_type="application/json")
    assert verified.status_code == 200
    assert verified.get_json()["verified"] is False
    status = next(c for c in verified.get_json()["checks"] if c["check"] == "status")
    assert status["ok"] is False
    assert "not signed yet" in status["message"]
    with app.app_context():
        unsigned = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one()
        assert unsigned.signed_document is None
        assert unsigned.signed_version is None  # the reads wrote nothing
    result = runner.invoke(args=["status-lists", "resign"])
    assert result.exit_code == 0, result.output
    assert "Signed 1 status list(s)." in result.output, result.output
    assert "Signed" not in runner.invoke(args=["status-lists", "resign"]).output  # nothing left to sign
    first = client.get(path)
    assert first.status_code == 200
    with app.app_context():
        kept = db.session.scalars(select(StatusList).filter_by(purpose="revocation")).one()
        assert kept.signed_version == kept.version
        assert kept.signed_document == first.get_data(as_text=True)
    selects.clear()
    second = client.get(path)
    assert len(selects) == 1, selects
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
