"""Expiry as verification sees it (VC 2.0 validity): the day before validUntil, the day of it and the day after.

Time is frozen through the verifier's ``now`` argument: the service's own verifier (registry, cached answers) and
the pure verifier running every proof over the vendored contexts, for the JSON-LD credential and its VC-JWT.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from flask import Flask

from issuer.credentials.loader import document_loader
from issuer.credentials.verify import verify
from issuer.extensions import db
from issuer.identity.did_web import resolver
from issuer.models import Credential, Framework, User
from issuer.recertification import policy_store
from issuer.verification import verifier
from tests.integration.helpers import issue

DAY = dt.timedelta(days=1)


@pytest.fixture
def expiring(app: Flask, people: dict[str, int]) -> uuid.UUID:
    with app.app_context():
        fw = db.session.scalars(db.select(Framework)).one()
        policy_store.set_policy(db.session, framework=fw, level=None, actor=db.session.get_one(User, people["admin"]),
                                data=policy_store.PolicyInput(validity_months="60", reminder_days="90,30,7"))
        db.session.commit()
    return issue(app, people)


def _until(app: Flask, credential_id: uuid.UUID) -> dt.datetime:
    with app.app_context():
        until = db.session.get_one(Credential, credential_id).valid_until
        assert until is not None
        return until


def test_the_service_verifier_day_before_of_and_after(app: Flask, expiring: uuid.UUID) -> None:
    until = _until(app, expiring)
    day = until.date().isoformat()
    with app.test_request_context():
        before = verifier.verify_issued(db.session, expiring, now=until - DAY)
        assert before is not None
        assert before.verification.verified
        validity = next(c for c in before.verification.checks if c.name == "validity")
        assert validity.ok
        assert validity.message.endswith(f"until {until.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        # the day of, at the very instant of validUntil: still valid (valid until then, inclusive)
        at = verifier.verify_issued(db.session, expiring, now=until)
        assert at is not None
        assert at.verification.verified
        # the day of, an hour after validUntil: expired (past the 5-minute clock-skew tolerance)
        later = verifier.verify_issued(db.session, expiring, now=until + dt.timedelta(hours=1))
        assert later is not None
        assert not later.verification.verified
        assert later.verification.summary == (f"Expired on {day} (validUntil was "
                                              f"{until.strftime('%Y-%m-%dT%H:%M:%SZ')})")
        after = verifier.verify_issued(db.session, expiring, now=until + DAY)
        assert after is not None
        assert not after.verification.verified
        failed = [c.name for c in after.verification.checks if c.ok is False]
        assert failed == ["validity"]  # genuine, recognised, not revoked: only expired
        assert after.verification.summary.startswith(f"Expired on {day}")


def test_pasted_copies_day_before_of_and_after(app: Flask, expiring: uuid.UUID) -> None:
    until = _until(app, expiring)
    with app.test_request_context():
        credential = db.session.get_one(Credential, expiring)
        for data in (credential.document, credential.jwt):
            assert verifier.verify_any(db.session, data, now=until - DAY).verified
            assert verifier.verify_any(db.session, data, now=until).verified
            after = verifier.verify_any(db.session, data, now=until + DAY)
            assert not after.verified
            assert after.summary.startswith(f"Expired on {until.date().isoformat()}")


def test_every_proof_checked_without_our_registry_day_before_of_and_after(app: Flask, expiring: uuid.UUID) -> None:
    """The pure verifier, as a third party runs it: canonicalization and every proof, no registry."""
    until = _until(app, expiring)
    with app.test_request_context():
        credential = db.session.get_one(Credential, expiring)
        keys = resolver(db.session)
        document = json.loads(credential.document)
        assert document["validUntil"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
        for data in (document, credential.jwt):
            results = [verify(data, document_loader=document_loader, resolver=keys, now=when)
                       for when in (until - DAY, until, until + DAY)]
            assert [r.verified for r in results] == [True, True, False]
            assert all(r.check("proof").ok for r in results)
            assert results[2].check("validity").message.startswith(f"Expired on {until.date().isoformat()}")
