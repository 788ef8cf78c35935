"""Concurrency never yields a 5xx, on the SQLite default as on PostgreSQL (issue 18).

On SQLite, work that writes (a request with a writing method, a command) begins with ``BEGIN IMMEDIATE``
(``issuer.platform.database.writing``): concurrent writers wait for each other and then see each other's work,
where a deferred ``BEGIN`` made every writer but the first fail at once with "database is locked".
Real threads, each with its own client (or command invocation) and its own connection, released together.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import event, func, select, update

from issuer.accounts import api_tokens
from issuer.cli import complete_command
from issuer.extensions import db
from issuer.learning import record_book
from issuer.models import AuditEvent, Credential, Framework, LevelCompletion, User, utcnow
from issuer.models.oauth import CredentialOffer, OAuthAuthorizationCode, OAuthToken, secret_hash
from issuer.protocols import oid4vci
from issuer.protocols.oauth import PRE_AUTHORIZED_GRANT_TYPE as PRE_AUTH
from tests.conftest import PASSWORD, AuthActions, fresh_app, make_test_config
from tests.integration.helpers import issue, race, race_requests, seed_people, wallet_key, wallet_proof
from tests.integration.test_obapi import REDIRECT_URI, approve, authorize_url, basic, pkce, register

#: Connections enough for every thread at once (the default pool has 5, and 10 more on demand).
POOL = {"pool_size": 40, "max_overflow": 10, "pool_timeout": 300}


@pytest.fixture
def sqlite_app(keys_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on a SQLite file (as ``make run`` uses), its pool large enough for the threads."""
    url = f"sqlite:///{tmp_path / 'concurrency.sqlite3'}"
    with fresh_app({**make_test_config(url, keys_dir, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": POOL}) as app:
        yield app




def ready_to_complete(app: Flask) -> dict[str, Any]:
    """Seeded people, every statement of the first level met, and the supervisor's API token."""
    people = seed_people(app)
    with app.app_context():
        supervisor, therapist = db.session.get(User, people["supervisor"]), db.session.get(User, people["therapist"])
        assert supervisor is not None
        assert therapist is not None
        level = db.session.scalars(select(Framework)).one().levels[0]
        for statement in level.statements:
            record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist, statement=statement,
                                       observed_on=utcnow().date())
        token = api_tokens.create_api_token(db.session, user=supervisor, name="race").secret
        db.session.commit()
        return {"people": people, "level": level.id, "label": level.label, "token": token}


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_thirty_concurrent_api_completions_issue_one_credential_and_answer_409_to_the_rest(
        request: pytest.FixtureRequest, backend: str) -> None:
    app: Flask = request.getfixturevalue("sqlite_app" if backend == "sqlite" else "postgres_app")
    seeded = ready_to_complete(app)
    url = f"/api/v1/therapists/{seeded['people']['therapist']}/levels/{seeded['level']}/complete"
    headers = {"Authorization": f"Bearer {seeded['token']}"}

    outcomes = race_requests(app, 30, lambda client, _n: client.post(url, headers=headers))

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201] + [409] * 29, [body for status, body in outcomes if status >= 500]
    winner = next(body for status, body in outcomes if status == 201)
    for status, body in outcomes:
        if status == 409:
            assert body["error"] == "already_issued"
            assert body["details"]["credential_id"] == winner["id"]
    assert count(app, Credential) == 1
    assert count(app, LevelCompletion) == 1
    with app.app_context():
        assert str(db.session.scalars(select(Credential.id)).one()) == winner["id"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_requests_with_one_idempotency_key_all_get_the_one_stored_answer(
        request: pytest.FixtureRequest, backend: str) -> None:
    """The key is stored with the work: every racer gets the winner's 201, none a 409 or a 5xx."""
    app: Flask = request.getfixturevalue("sqlite_app" if backend == "sqlite" else "postgres_app")
    seeded = ready_to_complete(app)
    url = f"/api/v1/therapists/{seeded['people']['therapist']}/levels/{seeded['level']}/complete"
    headers = {"Authorization": f"Bearer {seeded['token']}", "Idempotency-Key": "complete-emerging-once"}

    outcomes = race_requests(app, 20, lambda client, _n: client.post(url, headers=headers))

    assert [status for status, _ in outcomes] == [201] * 20, [body for status, body in outcomes if status != 201]
    assert len({body["id"] for _, body in outcomes}) == 1
    assert count(app, Credential) == 1


def test_twenty_concurrent_api_reads_with_one_token_all_succeed(sqlite_app: Flask) -> None:
    """A read that notes its token's use writes beside the request: concurrent ones must not fail on each other."""
    app = sqlite_app
    seeded = ready_to_complete(app)
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    clients = [app.test_client() for _ in range(20)]

    def attempt(n: int) -> int:
        return clients[n].get("/api/v1/therapists", headers=headers).status_code

    outcomes = race(20, attempt)

    assert outcomes == [200] * 20


def test_twenty_concurrent_sign_ins_to_one_account_all_succeed(sqlite_app: Flask) -> None:
    app = sqlite_app
    people = seed_people(app)
    clients = [app.test_client() for _ in range(20)]
    tokens = [AuthActions(client).csrf("/login") for client in clients]

    def attempt(n: int) -> tuple[int, str]:
        response = clients[n].post("/login", data={"email": "sup@example.test", "password": PASSWORD,
                                                   "csrf_token": tokens[n]})
        return response.status_code, response.headers.get("Location", "")

    outcomes = race(20, attempt)

    assert not [o for o in outcomes if not isinstance(o, tuple)], outcomes
    assert [status for status, _ in outcomes] == [302] * 20
    assert {location for _, location in outcomes} == {"/supervisor/"}
    with app.app_context():
        succeeded = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.succeeded", AuditEvent.subject_id == people["supervisor"]))
    assert succeeded == 20
    for client in clients:  # each one is signed in
        assert client.get("/supervisor/").status_code == 200


class _PerThread(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` for commands run in threads: each thread writes to its own buffer.

    Click's test runner swaps the process's ``sys.stdout`` for each invocation, so concurrent invocations would
    write into each other's output; this keeps each thread's output apart.
    """

    encoding = "utf-8"

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer().write(text)

    def buffer(self) -> io.StringIO:
        if not hasattr(self._local, "buffer"):
            self._local.buffer = io.StringIO()
        return self._local.buffer  # type: ignore[no-any-return]


def test_eight_concurrent_complete_commands_issue_once_and_refuse_the_rest_cleanly(
        sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    app = sqlite_app
    seeded = ready_to_complete(app)
    stdout, stderr = _PerThread(), _PerThread()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    args = ["sup@example.test", "ther@example.test", seeded["label"]]

    def attempt(_n: int) -> tuple[int, str, str]:
        """As ``app.test_cli_runner().invoke`` runs a command, without its process-wide output swap."""
        try:
            complete_command.main(args, prog_name="issuer complete", obj=ScriptInfo(create_app=lambda: app),
                                  standalone_mode=False)
            code = 0
        except SystemExit as error:
            code = int(error.code or 0)
        return code, stdout.buffer().getvalue(), stderr.buffer().getvalue()

    outcomes = race(8, attempt)
    monkeypatch.undo()

    assert not [o for o in outcomes if not isinstance(o, tuple)], outcomes
    assert sorted(code for code, _, _ in outcomes) == [0] + [1] * 7, outcomes
    printed = next(out for code, out, _ in outcomes if code == 0)
    with app.app_context():
        assert [str(i) for i in db.session.scalars(select(Credential.id))] == [str(uuid.UUID(printed.strip()))]
    for code, out, err in outcomes:
        if code == 1:
            assert out == ""
            assert err.startswith("Error: "), err
            assert "is already complete" in err, err
            assert "Traceback" not in err
    assert count(app, LevelCompletion) == 1


def test_a_command_that_waits_too_long_for_the_write_lock_says_so_without_a_traceback(sqlite_app: Flask) -> None:
    """The last resort: another transaction holds the write lock longer than the command waits."""
    app = sqlite_app
    seeded = ready_to_complete(app)
    with app.app_context():
        engine = db.engine

    def wait_briefly(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 100")  # 0.1 s, not 15

    other = engine.connect()
    event.listen(engine, "checkout", wait_briefly)
    try:
        with other.begin():
            other.execute(update(User).where(User.id == seeded["people"]["admin"]).values(name="Busy Admin"))
            result = app.test_cli_runner().invoke(args=["complete", "sup@example.test", "ther@example.test",
                                                        seeded["label"]])
    finally:
        event.remove(engine, "checkout", wait_briefly)
        other.close()

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error: the database is busy with other changes" in result.output
    assert "Traceback" not in result.output
    assert count(app, Credential) == 0
    again = app.test_cli_runner().invoke(args=["complete", "sup@example.test", "ther@example.test", seeded["label"]])
    assert again.exit_code == 0, again.output
    assert count(app, Credential) == 1


# --- token redemptions: each code or refresh token is spent once, whoever races for it --------------------------
def app_for(request: pytest.FixtureRequest, backend: str) -> Flask:
    app: Flask = request.getfixturevalue("sqlite_app" if backend == "sqlite" else "postgres_app")
    return app


def offered_code(app: Flask) -> str:
    """The pre-authorized code of a credential offer made for a freshly issued credential."""
    credential_id = issue(app, seed_people(app))
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        _offer, document, _tx_code = oid4vci.create_offer(db.session, credential, now=utcnow())
        db.session.commit()
    code: str = document["grants"][PRE_AUTH]["pre-authorized_code"]
    return code


def token_rows(app: Flask) -> list[OAuthToken]:
    with app.app_context():
        rows = list(db.session.scalars(select(OAuthToken).order_by(OAuthToken.id)))
        db.session.expunge_all()
        return rows


def consented_code(app: Flask) -> tuple[dict[str, Any], str, str]:
    """A registered client, and an authorization code the therapist granted it: (registration, code, verifier)."""
    seed_people(app)
    browser = app.test_client()
    registered = register(browser)
    AuthActions(browser).login("ther@example.test")
    verifier, challenge = pkce()
    response = approve(browser, authorize_url(registered, challenge))
    assert response.status_code == 302, response.get_data(as_text=True)
    return registered, parse_qs(urlsplit(response.headers["Location"]).query)["code"][0], verifier


def race_token_requests(app: Flask, threads: int, form: dict[str, str],
                        headers: dict[str, str] | None = None) -> list[tuple[int, Any]]:
    outcomes = race_requests(app, threads,
                             lambda client, _n: client.post("/oauth/token", data=form, headers=headers or {}))
    assert not [o for o in outcomes if o[0] >= 500], outcomes
    return outcomes


def assert_one_winner(outcomes: list[tuple[int, Any]]) -> dict[str, Any]:
    """Exactly one 200 with a token; every other answer is RFC 6749's 400 invalid_grant."""
    assert sorted(status for status, _ in outcomes) == [200] + [400] * (len(outcomes) - 1), outcomes
    for status, body in outcomes:
        if status == 400:
            assert body["error"] == "invalid_grant", body
    winner: dict[str, Any] = next(body for status, body in outcomes if status == 200)
    assert winner["access_token"]
    return winner


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_twenty_concurrent_redemptions_of_one_authorization_code_yield_one_token(
        request: pytest.FixtureRequest, backend: str) -> None:
    app = app_for(request, backend)
    registered, code, verifier = consented_code(app)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}

    winner = assert_one_winner(race_token_requests(
        app, 20, form, basic(registered["client_id"], registered["client_secret"])))

    rows = token_rows(app)
    assert [row.access_token_hash for row in rows] == [secret_hash(winner["access_token"])]
    assert rows[0].refresh_token_hash == secret_hash(winner["refresh_token"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OAuthAuthorizationCode)) == 0
    # The token works: the winner's access token reads the profile.
    response = app.test_client().get("/ims/ob/v3p0/profile",
                                     headers={"Authorization": f"Bearer {winner['access_token']}"})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_twenty_concurrent_redemptions_of_one_refresh_token_yield_one_new_pair(
        request: pytest.FixtureRequest, backend: str) -> None:
    app = app_for(request, backend)
    registered, code, verifier = consented_code(app)
    credentials = basic(registered["client_id"], registered["client_secret"])
    first = app.test_client().post("/oauth/token", headers=credentials, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert first.status_code == 200, first.get_data(as_text=True)
    original = first.get_json()

    winner = assert_one_winner(race_token_requests(
        app, 20, {"grant_type": "refresh_token", "refresh_token": original["refresh_token"]}, credentials))

    assert winner["refresh_token"] != original["refresh_token"]
    rows = token_rows(app)
    assert len(rows) == 2  # the original, and the one new pair
    old, new = rows
    assert old.access_token_hash == secret_hash(original["access_token"])
    assert old.revoked_at is not None
    assert (new.access_token_hash, new.refresh_token_hash) == (secret_hash(winner["access_token"]),
                                                               secret_hash(winner["refresh_token"]))
    assert new.revoked_at is None
    # The rotated-out refresh token stays spent; the new one works once more.
    client = app.test_client()
    again = client.post("/oauth/token", headers=credentials,
                        data={"grant_type": "refresh_token", "refresh_token": original["refresh_token"]})
    assert (again.status_code, again.get_json()["error"]) == (400, "invalid_grant")
    onward = client.post("/oauth/token", headers=credentials,
                         data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    assert onward.status_code == 200, onward.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_twenty_concurrent_redemptions_of_one_pre_authorized_code_yield_one_token(
        request: pytest.FixtureRequest, backend: str) -> None:
    app = app_for(request, backend)
    code = offered_code(app)

    winner = assert_one_winner(race_token_requests(app, 20, {"grant_type": PRE_AUTH, "pre-authorized_code": code}))

    rows = token_rows(app)
    assert [row.access_token_hash for row in rows] == [secret_hash(winner["access_token"])]
    with app.app_context():
        offer = db.session.scalars(select(CredentialOffer)).one()
        assert offer.redeemed_at is not None
        assert rows[0].offer_id == offer.id
    wallet = app.test_client()
    nonce = wallet.post("/oid4vci/nonce").get_json()["c_nonce"]
    proof = wallet_proof(wallet_key(), audience="http://127.0.0.1:5000", nonce=nonce)
    response = wallet.post("/oid4vci/credential",
                           json={"credential_configuration_id": oid4vci.CONFIG_LDP_VC, "proofs": {"jwt": [proof]}},
                           headers={"Authorization": f"Bearer {winner['access_token']}"})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_one_c_nonce_used_by_concurrent_credential_requests_delivers_once(
        request: pytest.FixtureRequest, backend: str) -> None:
    """Eight wallets' proofs carry the same c_nonce, sent at once: one delivery, seven invalid_nonce, no 5xx."""
    from issuer.models import WalletDelivery

    app = app_for(request, backend)
    code = offered_code(app)
    wallet = app.test_client()
    access_token = wallet.post("/oauth/token", data={"grant_type": PRE_AUTH,
                                                     "pre-authorized_code": code}).get_json()["access_token"]
    nonce = wallet.post("/oid4vci/nonce").get_json()["c_nonce"]
    proofs = [wallet_proof(wallet_key(), audience="http://127.0.0.1:5000", nonce=nonce) for _ in range(8)]
    outcomes = race_requests(app, 8, lambda client, n: client.post(
        "/oid4vci/credential", headers={"Authorization": f"Bearer {access_token}"},
        json={"credential_configuration_id": oid4vci.CONFIG_LDP_VC, "proofs": {"jwt": [proofs[n]]}}))
    assert sorted(status for status, _ in outcomes) == [200] + [400] * 7, outcomes
    assert {body["error"] for status, body in outcomes if status == 400} == {"invalid_nonce"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WalletDelivery)) == 1
