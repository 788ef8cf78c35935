"""Status transitions under concurrency (issue 18): the credential's row is locked before the transition is
checked, so of concurrent changes exactly one wins, each change writes one audit event, and revoked and suspended
never hold together (revoking a suspended credential clears the suspension and its bit). Both databases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from issuer.accounts import api_tokens
from issuer.credentials import status_list as bsl
from issuer.errors import Conflict
from issuer.extensions import db
from issuer.issuance import revocation
from issuer.models import AuditEvent, Credential, StatusEntry, StatusList, User
from tests.integration.helpers import issue, race, seed_people

STATUS_EVENTS = ("credential.revoked", "credential.suspended", "credential.unsuspended")


def issued_with_token(app: Flask) -> tuple[uuid.UUID, str]:
    people = seed_people(app)
    credential_id = issue(app, people)
    with app.app_context():
        admin = db.session.get_one(User, people["admin"])
        token = api_tokens.create_api_token(db.session, user=admin, name="race").secret
        db.session.commit()
    return credential_id, token


def statuses(app: Flask, url_for: Callable[[int], str], token: str, count: int) -> list[int]:
    clients = [app.test_client() for _ in range(count)]
    headers = {"Authorization": f"Bearer {token}"}

    def attempt(n: int) -> int:
        return clients[n].post(url_for(n), json={"reason": f"attempt {n}"}, headers=headers).status_code

    outcomes = race(count, attempt)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    return outcomes


def state(app: Flask, credential_id: uuid.UUID) -> dict[str, Any]:
    """The row, the status-list bits and the audit events of one credential."""
    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        bits = {}
        for entry in db.session.scalars(select(StatusEntry).filter_by(credential_id=credential_id)):
            status_list = db.session.get_one(StatusList, entry.list_id)
            bits[entry.purpose] = bsl.Bitstring.from_bytes(status_list.bits).get(entry.index)
        events = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "credential", AuditEvent.subject_id == str(credential_id),
            AuditEvent.action.in_(STATUS_EVENTS))).all()
        return {"revoked": credential.revoked_at is not None, "suspended": credential.suspended_at is not None,
                "bits": bits, "events": sorted(events)}


def test_ten_concurrent_revokes_one_succeeds_one_audit_event(race_app: Flask) -> None:
    credential_id, token = issued_with_token(race_app)
    codes = statuses(race_app, lambda n: f"/api/v1/credentials/{credential_id}/revoke", token, 10)
    assert sorted(codes) == [200] + [409] * 9
    after = state(race_app, credential_id)
    assert after["revoked"]
    assert not after["suspended"]
    assert after["bits"] == {"revocation": True, "suspension": False}
    assert after["events"] == ["credential.revoked"]


def test_concurrent_revokes_and_suspends_never_leave_both(race_app: Flask) -> None:
    credential_id, token = issued_with_token(race_app)
    actions = ["revoke", "suspend"] * 5
    codes = statuses(race_app, lambda n: f"/api/v1/credentials/{credential_id}/{actions[n]}", token, 10)
    assert set(codes) <= {200, 409}, codes
    revokes = [code for code, action in zip(codes, actions, strict=True) if action == "revoke"]
    suspends = [code for code, action in zip(codes, actions, strict=True) if action == "suspend"]
    assert revokes.count(200) == 1  # a revoke is refused only once the credential is revoked
    assert suspends.count(200) <= 1
    after = state(race_app, credential_id)
    assert after["revoked"]
    assert not after["suspended"]  # never both: a revoke clears a suspension that came first
    assert after["bits"] == {"revocation": True, "suspension": False}
    assert len(after["events"]) == codes.count(200)
    assert after["events"].count("credential.revoked") == 1


def test_revoking_a_suspended_credential_clears_the_suspension_and_its_bit(app: Flask) -> None:
    credential_id = issue(app, seed_people(app))
    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="suspend", reason="under review", actor=None)
        db.session.commit()
    assert state(app, credential_id)["bits"] == {"revocation": False, "suspension": True}
    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action="revoke", reason="confirmed", actor=None)
        db.session.commit()
        assert credential.state == "revoked"
        assert credential.suspension_reason is None
        cleared = db.session.scalars(select(AuditEvent).filter_by(
            action="credential.revoked", subject_id=str(credential_id))).one()
        assert cleared.details.get("suspension_cleared") is True
    after = state(app, credential_id)
    assert (after["revoked"], after["suspended"]) == (True, False)
    assert after["bits"] == {"revocation": True, "suspension": False}
    assert after["events"] == ["credential.revoked", "credential.suspended"]
    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        with pytest.raises(Conflict):
            revocation.change(db.session, credential, action="unsuspend", reason="oops", actor=None)
