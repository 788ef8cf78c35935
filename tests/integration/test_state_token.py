"""One state token per verification page: its ETag, what a revalidation is answered from, and what changes it.

The token (``IssuedVerification.token``) digests the answer and everything it rests on (key epoch with the trust
list, the status lists' state, the validity turn, the credential's row). It is computed from database state, not
from rendered bytes, so a 304 needs no render and every worker (every app) gives the same ETag.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient

from issuer import create_app
from issuer.extensions import db
from issuer.platform import database
from issuer.verification import trust, verifier


@pytest.fixture
def rendered(app: Flask) -> Iterator[list[str]]:
    """The templates the app renders."""
    names: list[str] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


def test_the_etag_is_the_state_token_and_a_revalidation_renders_nothing(
        app: Flask, client: FlaskClient, issued: uuid.UUID, rendered: list[str]) -> None:
    first = client.get(f"/verify/{issued}")
    with app.app_context():
        found = verifier.verify_issued(db.session, issued)
    assert found is not None
    assert first.headers["ETag"] == f'"{found.token}"'
    assert rendered == ["credentials/verify_result.html"]
    again = client.get(f"/verify/{issued}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]
    assert rendered == ["credentials/verify_result.html"], "a revalidation rendered the page"


def test_another_worker_gives_the_same_etag(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    other = create_app(dict(app.config))  # another process's app on the same database: caches of its own
    try:
        mine = client.get(f"/verify/{issued}").headers["ETag"]
        theirs = other.test_client().get(f"/verify/{issued}").headers["ETag"]
    finally:
        database.dispose(other)
    assert mine == theirs


def test_a_trust_list_change_changes_the_token(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    before = client.get(f"/verify/{issued}").headers["ETag"]
    with app.app_context():
        trust.add(db.session, issuer_id="did:web:partner.example", name="Partner College")
        db.session.commit()
    after = client.get(f"/verify/{issued}")
    assert after.status_code == 200
    assert after.headers["ETag"] != before
