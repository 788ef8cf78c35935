"""Set-up for the ledger, hours and re-certification report tests: a policy, an open cycle, API tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from issuer.accounts import api_tokens
from issuer.extensions import db
from issuer.models import Credential, Framework, User, ValidityPolicy, utcnow
from tests.integration.helpers import issue


def set_policy(app: Flask, *, months: int | None = 60, required: str | None = "100", ethics: str | None = "3",
               supervised_minutes: int | None = None, minutes_per_credit: int = 50) -> None:
    """The framework-wide validity policy (one per framework: replaced if set before)."""
    with app.app_context():
        framework = db.session.scalars(select(Framework)).first()
        assert framework is not None
        policy = db.session.scalars(select(ValidityPolicy).filter_by(framework_id=framework.id,
                                                                      level_id=None)).first()
        if policy is None:
            policy = ValidityPolicy(framework_id=framework.id, level_id=None, updated_at=utcnow())
            db.session.add(policy)
        policy.validity_months = months
        policy.required_credits = Decimal(required) if required is not None else None
        policy.category_minimums = f'{{"ethics": {ethics}}}' if ethics is not None else "{}"
        policy.minutes_per_credit = minutes_per_credit
        policy.min_supervised_minutes = supervised_minutes
        policy.reminder_days = "90,30,7"
        db.session.commit()


def open_cycle(app: Flask, people: dict[str, int], *, started_days_ago: int = 30, months: int = 60) -> uuid.UUID:
    """Issue the first level under a 5-year policy and date its validity to have begun ``started_days_ago`` days ago
    (the row's dates are the cycle; the signed document is not read by the ledger)."""
    set_policy(app, months=months)
    credential_id = issue(app, people)
    with app.app_context():
        credential = db.session.get_one(Credential, credential_id)
        start = utcnow() - dt.timedelta(days=started_days_ago)
        credential.valid_from = start
        credential.valid_until = start + dt.timedelta(days=round(months * 365.25 / 12))
        db.session.commit()
    return credential_id


def token_for(app: Flask, user_id: int, name: str = "tests") -> str:
    with app.app_context():
        user = db.session.get_one(User, user_id)
        secret = api_tokens.create_api_token(db.session, user=user, name=name).secret
        db.session.commit()
        return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
