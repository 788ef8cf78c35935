"""Every protected route × every role: nobody sees or changes another person's data."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.accounts import api_tokens
from issuer.extensions import db
from issuer.models import Assignment, Framework, StatementMark, User
from tests.conftest import AuthActions

ROLES = ["anonymous", "therapist", "unassigned", "assigned", "admin"]
LOGIN = {"therapist": "ther@example.test", "unassigned": "other@example.test", "assigned": "sup@example.test",
         "admin": "admin@example.test"}


@pytest.fixture
def world(app: Flask, people: dict[str, int], issued: uuid.UUID) -> dict[str, Any]:
    credential_id = issued
    with app.app_context():
        fw = db.session.scalars(select(Framework)).one()
        mark = db.session.scalars(select(StatementMark)).first()
        token = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people["therapist"]), name="t")
        assignment = db.session.scalars(select(Assignment)).first()
        db.session.commit()
        return {"t": people["therapist"], "c": credential_id, "l2": fw.levels[1].id,
                "s2": fw.levels[1].statements[0].id, "m": mark.id, "tok": token.token.id, "a": assignment.id}


# (method, path template, {role: expected status})
MATRIX = [
    ("GET", "/supervisor/", {"anonymous": 302, "therapist": 403, "unassigned": 200, "assigned": 200, "admin": 403}),
    ("GET", "/supervisor/therapists/{t}",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 200, "admin": 403}),
    # A supervisor's form posted without a session: 303 to sign in, with the grid as ``next``.
    ("POST", "/supervisor/therapists/{t}/statements/{s2}/mark",
     {"anonymous": 303, "therapist": 403, "unassigned": 404, "assigned": 302, "admin": 403}),
    ("GET", "/supervisor/therapists/{t}/levels/{l2}/record",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 302, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/levels/{l2}/record",  # no statement ticked: 400 for the assigned one
     {"anonymous": 303, "therapist": 403, "unassigned": 404, "assigned": 400, "admin": 403}),
    ("GET", "/supervisor/therapists/{t}/marks/{m}/undo",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 200, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/marks/{m}/undo",
     {"anonymous": 303, "therapist": 403, "unassigned": 404, "assigned": 409, "admin": 403}),
    ("GET", "/supervisor/therapists/{t}/levels/{l2}/complete",
     {"anonymous": 302, "therapist": 403, "unassigned": 404, "assigned": 200, "admin": 403}),
    ("POST", "/supervisor/therapists/{t}/levels/{l2}/complete",
     {"anonymous": 303, "therapist": 403, "unassigned": 404, "assigned": 400, "admin": 403}),
    ("GET", "/me", {"anonymous": 302, "therapist": 200, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("GET", "/me/profile", {"anonymous": 302, "therapist": 200, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("POST", "/me/clr.json", {"anonymous": 302, "therapist": 200, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("GET", "/evidence/{m}", {"anonymous": 302, "therapist": 404, "unassigned": 404, "assigned": 404, "admin": 404}),
    # The assigned supervisor suspends first; the admin may too, and is told it already is (409).
    ("POST", "/credentials/{c}/suspend",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 302, "admin": 409}),
    ("POST", "/credentials/{c}/visibility",
     {"anonymous": 404, "therapist": 302, "unassigned": 404, "assigned": 404, "admin": 404}),
    ("POST", "/credentials/{c}/revoke",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 302, "admin": 409}),
    ("POST", "/credentials/{c}/unsuspend",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 409, "admin": 409}),
    ("POST", "/me/profile", {"anonymous": 302, "therapist": 302, "unassigned": 403, "assigned": 403, "admin": 403}),
    ("GET", "/account/tokens", {"anonymous": 302, "therapist": 200, "unassigned": 200, "assigned": 200, "admin": 200}),
    ("POST", "/account/tokens", {"anonymous": 302, "therapist": 200, "unassigned": 200, "assigned": 200, "admin": 200}),
    ("POST", "/account/tokens/{tok}/revoke",
     {"anonymous": 302, "therapist": 302, "unassigned": 404, "assigned": 404, "admin": 404}),
    ("GET", "/admin/users", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/invitations",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("POST", "/admin/invitations/{t}/resend",  # no invitation has this id: the admin is told so
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("GET", "/admin/invitations/{t}/revoke",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("POST", "/admin/invitations/{t}/revoke",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("GET", "/admin/users/{t}/deactivate",  # the confirmation step
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/users/{t}/deactivate",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 302}),
    ("GET", "/admin/assignments",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/assignments",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("GET", "/admin/assignments/{a}/remove",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/assignments/{a}/remove",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 302}),
    ("GET", "/admin/keys", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("GET", "/admin/keys/rotate",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/keys/rotate",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 302}),
    ("POST", "/admin/keys/revoke",  # confirmed, but naming no key: the admin is told so
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("GET", "/admin/trust", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/trust", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("GET", "/admin/trust/remove",  # no issuer named: nothing to confirm
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("POST", "/admin/trust/remove",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
    ("POST", "/admin/trust/import",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("GET", "/admin/frameworks",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/frameworks",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("GET", "/admin/settings", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/settings", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 302}),
    ("GET", "/admin/audit", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("GET", "/admin/audit.csv",
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("GET", "/admin/bulk", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 200}),
    ("POST", "/admin/bulk", {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 400}),
    ("GET", "/admin/bulk/jobs/{t}",  # no job has this id: the admin is told so, everyone else is refused first
     {"anonymous": 302, "therapist": 403, "unassigned": 403, "assigned": 403, "admin": 404}),
]
#: Routes anyone may use (sign-in, the public verifier): not part of the matrix.
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "credentials.verify_submit", "credentials.recipient_check"}


def test_matrix_covers_every_signed_in_route(app: Flask) -> None:
    """Each route that needs an account, with each of its methods, has a row above."""
    protected = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if blueprint in ("supervisor", "therapist", "admin", "records") or (
                rule.endpoint.startswith("credentials.") and "POST" in methods):
            protected |= {(rule.endpoint, m) for m in methods}
    protected -= {(e, m) for e, m in protected if e in PUBLIC_ENDPOINTS}
    adapter = app.url_map.bind("localhost")
    ids = {"t": 1, "c": "00000000-0000-4000-8000-000000000000", "l2": 2, "s2": 3, "m": 4, "tok": 5, "a": 6}
    covered = {(adapter.match(template.format(**ids), method=method)[0], method) for method, template, _ in MATRIX}
    actions = {"revoke", "suspend", "unsuspend"}
    assert {e for e, _ in protected} - {e for e, _ in covered} == set()
    assert protected - covered == set(), f"routes missing from the matrix: {sorted(protected - covered)}"
    assert actions <= {t.rsplit("/", 1)[1] for _, t, _ in MATRIX if t.startswith("/credentials/")}


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_route_answers_each_role_as_expected(app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any],
                                             method: str, template: str, expected: dict[str, int]) -> None:
    path = template.format(**world)
    data = {"observed_on": "2026-11-20", "reason": "Testing the matrix.", "note": "n", "confirm": "yes"}
    seen = {}
    for role in ROLES:
        fresh = app.test_client()
        actions = AuthActions(fresh)
        if role != "anonymous":
            assert actions.login(LOGIN[role]).status_code == 302
        response = fresh.get(path) if method == "GET" else actions.post(path, data)
        seen[role] = response.status_code
        body = response.get_data(as_text=True)
        if response.status_code in (403, 404) and role != "assigned":
            assert "Taylor Therapist" not in body or role == "therapist"
    assert seen == expected


def test_private_credential_page_is_404_for_the_public(app: Flask, world: dict[str, Any]) -> None:
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
