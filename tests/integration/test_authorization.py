"""Every protected route × every role: nobody sees or changes another person's data."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.extensions import db
from issuer.models import Framework, StatementMark
from tests.conftest import AuthActions
from tests.integration.helpers import issue, seed_people

ROLES = ["anonymous", "therapist", "unassigned", "assigned", "admin"]
LOGIN = {"therapist": "ther@example.test", "unassigned": "other@example.test", "assigned": "sup@example.test",
         "admin": "admin@example.test"}


@pytest.fixture
def world(app: Flask) -> dict:
    people = seed_people(app)
    credential_id = issue(app, people, 0)
    with app.app_context():
        fw = db.session.scalars(select(Framework)).one()
        mark = db.session.scalars(select(StatementMark)).first()
        return {"t": people["therapist"], "c": credential_id, "l2": fw.levels[1].id,
                "s2": fw.levels[1].statements[0].id, "m": mark.id}


# (method, path template, {role: expected status})
MATRIX = [
    ("GET", "/supervisor/", {"anonymous": 302, "therapist": 403, "unassigned": 200, "assigned": 200, "admin": 403}),
    ("GET", "/supervisor/therapists/{t}", {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 200, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/statements/{s2}/mark",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 302, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/marks/{m}/undo",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 409, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/levels/{l2}/complete",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 400, "admin": 403}),
    ("GET", "/me", {"anonymous": 302, "therapist": 200, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("GET", "/me/profile", {"anonymous": 302, "therapist": 200, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("GET", "/evidence/{m}", {"anonymous": 302, "therapist": 404, "unassigned": 404, "assigned": 404, "admin": 404}),
    # The assigned supervisor suspends first; the admin may too, and is told it already is (409).
    ("POST", "/credentials/{c}/suspend", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 302, "admin": 409}),
    ("POST", "/credentials/{c}/visibility", {"anonymous": 404, "therapist": 302, "unassigned": 404, "assigned": 404, "admin": 404}),
    ("GET", "/admin/users", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("GET", "/account/tokens", {"anonymous": 302, "therapist": 200, "unassigned": 200, "assigned": 200, "admin": 200}),
]


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_route_answers_each_role_as_expected(app: Flask, client: FlaskClient, auth: AuthActions, world: dict,
                                             method: str, template: str, expected: dict[str, int]) -> None:
    path = template.format(**world)
    data = {"observed_on": "2026-11-20", "reason": "Testing the matrix.", "note": "n"}
    seen = {}
    for role in ROLES:
        fresh = app.test_client()
        actions = AuthActions(fresh)
        if role != "anonymous":
            assert actions.login(LOGIN[role]).status_code == 302
        if method == "GET":
            response = fresh.get(path)
        else:
            response = actions.post(path, data)
        seen[role] = response.status_code
        body = response.get_data(as_text=True)
        if response.status_code in (403, 404) and role != "assigned":
            assert "Taylor Therapist" not in body or role == "therapist"
    assert seen == expected


def test_private_credential_page_is_404_for_the_public(app: Flask, world: dict) -> None:
    owner = app.test_client()
    actions = AuthActions(owner)
    actions.login("ther@example.test")
    assert actions.post(f"/credentials/{world['c']}/visibility").status_code == 302
    public = app.test_client()
    assert public.get(f"/credentials/{world['c']}").status_code == 404
    assert owner.get(f"/credentials/{world['c']}").status_code == 200
    # The credential itself still verifies anywhere.
    assert public.get(f"/verify/{world['c']}").status_code == 200
    assert public.get(f"/credentials/{world['c']}.json").status_code == 200
