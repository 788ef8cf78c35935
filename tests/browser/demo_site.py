"""The app on a loopback socket with the demo data of `make run`, and a little more to show on every page.

Used by the accessibility sweep (tests/browser/test_accessibility.py) and by `make screenshots`
(tests/browser/screenshots.py): one server per process, started once.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from issuer import create_app
from issuer.extensions import db
from tests.conftest import CHEAP_ARGON2  # cheap password hashing: the site is thrown away with its directory


@dataclass
class DemoSite:
    url: str
    app: Flask
    accounts: dict[str, tuple[str, str]]  # role -> (email, password)
    ids: dict[str, str]  # URL argument name -> a real value (credential_id, therapist_id, …)
    more: dict[str, str] = field(default_factory=dict)  # other ids: revoked_credential_id, …
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None

    def sign_in(self, page: Any, role: str) -> None:
        """Sign ``page`` in as the demo account of ``role`` through the sign-in form."""
        email, password = self.accounts[role]
        page.goto(self.url + "/login")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert "/login" not in page.url, f"{role} could not sign in"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No line per request: a sweep makes hundreds."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp: Path, *, argon2: dict[str, Any] | None = None) -> DemoSite:
    """Initialise like `make run` (schema, keys, frameworks, demo accounts), add demo records, and serve."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    keys_dir = tmp / "keys"
    keys_dir.mkdir(mode=0o700)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'demo.sqlite3'}", "ISSUER_BASE_URL": base,
        "ISSUER_KEYS_DIR": str(keys_dir), "ISSUER_KEY_PASSPHRASE": None, "SECRET_KEY": os.urandom(16).hex(),
        "ISSUER_UPLOADS_DIR": str(tmp / "uploads"), "ISSUER_OUTBOX_DIR": str(tmp / "outbox"),
        "ISSUER_VERIFY_RATE_LIMIT": "0", **(argon2 if argon2 is not None else CHEAP_ARGON2),
    })
    app.instance_path = str(tmp / "instance")
    with app.test_request_context():
        accounts, ids, more = _populate(app)
    more["authorize_query"] = _oauth_client(app)  # a request of its own, after the set-up's transaction
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return DemoSite(url=base, app=app, accounts=accounts, ids=ids, more=more, server=server, thread=thread)


def _populate(app: Flask) -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, str]]:
    from issuer.accounts import api_tokens, demo
    from issuer.frameworks import catalogue
    from issuer.identity import keystore
    from issuer.issuance import bulk, completion, jobs, revocation
    from issuer.learning import record_book
    from issuer.models import Credential, Framework, Role, StatementMark, StatusList, User, utcnow

    session = db.session
    db.create_all()
    keystore.ensure_keys(session)
    for path in catalogue.framework_files(app.config["ISSUER_FRAMEWORKS_DIR"]):
        catalogue.import_framework(session, catalogue.parse_framework(path))
    created = demo.create_demo_accounts(session)
    session.commit()
    accounts = {role: (email, password) for role, email, password in created}

    users = {user.role: user for user in session.scalars(select(User))}
    admin, supervisor, therapist = users[Role.ADMIN], users[Role.SUPERVISOR], users[Role.THERAPIST]
    therapist.handle, therapist.public_profile = "taylor", True
    framework = session.scalars(select(Framework)).first()
    assert framework is not None
    levels = framework.levels
    today = utcnow().date()

    def complete(level_index: int) -> uuid.UUID:
        level = levels[level_index]
        for n, statement in enumerate(level.statements):
            record_book.mark_statement(session, supervisor=supervisor, therapist=therapist, statement=statement,
                                       observed_on=today, note=f"Observed in session {n + 1}.")
        return completion.complete_level(session, supervisor=supervisor, therapist=therapist, level=level).id

    active = complete(0)  # Emerging: a current credential
    revoked = complete(1)  # Developing: issued, then revoked
    revocation.change(session, session.get_one(Credential, revoked), action="revoke",
                      reason="Issued to the wrong person.", actor=supervisor)
    suspended = complete(3)  # Advanced: issued, then suspended with a reason for the public
    revocation.change(session, session.get_one(Credential, suspended), action="suspend",
                      reason="Complaint under review by the board.", public_reason="Under review.", actor=supervisor)
    open_marks = [  # Proficient: three of ten shown so far
        record_book.mark_statement(session, supervisor=supervisor, therapist=therapist, statement=statement,
                                   observed_on=today, note=f"Seen in group session {n + 1}.")
        for n, statement in enumerate(levels[2].statements[:3])
    ]
    api_tokens.create_api_token(session, user=therapist, name="Portfolio sync")
    api_tokens.create_api_token(session, user=therapist, name="Backup script")
    row = bulk.Row(line=2, therapist_email=therapist.email, level=levels[3].label, completion_date="",
                   supervisor_email=supervisor.email, status="ok")
    job = jobs.create_job(session, admin, [row])
    link_token, used_token, trusted_issuer = _account_links(session, admin, therapist)
    session.commit()

    status_list = session.scalars(select(StatusList)).first()
    mark = session.scalars(select(StatementMark)).first()
    assert status_list is not None
    assert mark is not None
    ids = {
        "credential_id": str(active), "therapist_id": str(therapist.id), "mark_id": str(mark.id),
        "achievement_id": str(levels[0].achievement_id), "slug": framework.slug, "handle": "taylor",
        "job_id": str(job.id), "list_id": str(status_list.public_id), "filename": "site.css",
        "framework_id": str(framework.id), "level_id": str(levels[0].id),
        # The confirmation steps of the administration, and the pages behind e-mailed links (one token opens both
        # the demo invitation and the demo password reset).
        "user_id": str(therapist.id), "action": "deactivate", "assignment_id": str(_assignment_id(session)),
        "invitation_id": str(_invitation_id(session)), "token": link_token,
    }
    more = {"revoked_credential_id": str(revoked), "suspended_credential_id": str(suspended),
            "used_link_token": used_token, "trusted_issuer_id": trusted_issuer,
            "statement_achievement_id": str(levels[0].statements[0].achievement_id),
            "open_level_id": str(levels[2].id), "open_mark_id": str(open_marks[0].id)}
    return accounts, ids, more


def _account_links(session: Any, admin: Any, therapist: Any) -> tuple[str, str, str]:
    """An open invitation and an open password reset sharing one known token, a used reset link, and an issuer on
    the trust list: (token, used token, trusted issuer id)."""
    import datetime as dt

    from issuer.accounts import invitations, link_tokens
    from issuer.models import Invitation, PasswordReset, Role, utcnow
    from issuer.verification import trust

    now = utcnow()
    token, used = link_tokens.new_token()[0], link_tokens.new_token()[0]
    invitations.invite(session, email="robin.newcomer@example.org", name="Robin Newcomer", role=Role.SUPERVISOR,
                       actor=admin)
    invitation = session.scalars(select(Invitation)).one()
    invitation.token_hash = link_tokens.hash_token(token)
    week = dt.timedelta(days=7)
    session.add(PasswordReset(user_id=therapist.id, token_hash=link_tokens.hash_token(token), created_at=now,
                              expires_at=now + week))
    session.add(PasswordReset(user_id=therapist.id, token_hash=link_tokens.hash_token(used), created_at=now,
                              expires_at=now + week, used_at=now))
    entry = trust.add(session, issuer_id="did:web:partner-clinic.example.org", name="Partner Clinic", actor=admin)
    return token, used, entry.issuer_id


def _assignment_id(session: Any) -> int:
    from issuer.models import Assignment

    return int(session.scalars(select(Assignment.id)).first())


def _invitation_id(session: Any) -> int:
    from issuer.models import Invitation

    return int(session.scalars(select(Invitation.id)).first())


def _oauth_client(app: Flask) -> str:
    """Register an OAuth client (RFC 7591) and return the query of an authorization request for its consent page."""
    redirect_uri = "https://backpack.example.test/callback"
    scope = ("https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly "
             "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly")
    response = app.test_client().post("/oauth/register", json={
        "client_name": "Badge Backpack", "client_uri": "https://backpack.example.test/",
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "scope": scope,
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"demo verifier " * 4).digest()).rstrip(b"=").decode()
    return urlencode({"response_type": "code", "client_id": response.get_json()["client_id"],
                      "redirect_uri": redirect_uri, "scope": scope, "state": "demo",
                      "code_challenge": challenge, "code_challenge_method": "S256"})

