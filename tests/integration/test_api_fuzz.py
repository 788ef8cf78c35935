"""schemathesis against /api/v1/openapi.json: whatever it sends, the API never answers 5xx.

Set ISSUER_FUZZ_EXAMPLES for a longer run (the default keeps `make test` quick).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from issuer.accounts import api_tokens
from issuer.extensions import db
from issuer.models import User
from tests.integration.helpers import issue, seed_people

EXAMPLES = int(os.environ.get("ISSUER_FUZZ_EXAMPLES", "15"))


def test_api_never_answers_5xx(app: Flask) -> None:
    people = seed_people(app)
    issue(app, people)
    with app.app_context():
        supervisor = db.session.get_one(User, people["supervisor"])
        token = api_tokens.create_api_token(db.session, user=supervisor, name="fuzz").secret
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            elif response.headers.get("Content-Type", "").startswith("application/json"):
                response.json()  # every answer, errors included, is JSON a client can read

        exercise()
    assert failures == []
