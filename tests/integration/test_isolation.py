"""The test harness itself: every test starts on empty tables whose ids begin again at 1, on both databases.

The schema is made once per session and emptied between tests (tests/conftest.py ``empty_schema``); run twice, the
second run of this test would see the first one's rows or a later id if the emptying missed a table or a sequence.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.models import AuditEvent, Framework, User


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_starts_empty_with_ids_from_one(app: Flask, people: dict[str, int], run: str) -> None:
    assert people == {"supervisor": 1, "other": 2, "therapist": 3, "admin": 4}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 4
        assert db.session.scalar(select(func.count()).select_from(Framework)) == 1
        assert db.session.scalar(select(func.min(AuditEvent.id))) == 1
