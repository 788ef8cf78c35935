"""Evidence files: type and size limits, stored outside the web root, shown only to those who may see the record."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from issuer.badges import badge_png
from issuer.extensions import db
from issuer.models import Framework, StatementMark
from tests.conftest import AuthActions

PNG = badge_png(level_name="x", level_number=1, framework_name="y", size=64)


@pytest.fixture
def setup(app: Flask, people: dict[str, int]) -> dict[str, Any]:
    people = dict(people)
    with app.app_context():
        people["statement"] = db.session.scalars(select(Framework)).one().levels[0].statements[0].id
    return people


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body in memory (the test client would spool a large one to a temporary file it never closes)."""
    boundary = "----issuer-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="evidence_file"; filename="{name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(app: Flask, people: dict[str, Any], data: bytes, name: str) -> tuple[int, str]:
    client = app.test_client()
    auth = AuthActions(client)
    auth.login("sup@example.test")
    body, content_type = multipart({"csrf_token": auth.csrf("/"), "observed_on": "2026-11-20"}, name, data)
    response = client.post(
        f"/supervisor/therapists/{people['therapist']}/statements/{people['statement']}/mark",
        input_stream=io.BytesIO(body), content_type=content_type, content_length=len(body),
    )
    return response.status_code, response.get_data(as_text=True)


def test_png_evidence_is_stored_and_served_only_to_the_right_people(app: Flask, setup: dict[str, Any]) -> None:
    status, _ = upload(app, setup, PNG, "session.png")
    assert status == 302
    with app.app_context():
        mark = db.session.scalars(select(StatementMark)).one()
        assert (mark.evidence_type, mark.evidence_filename) == ("image/png", "session.png")
    for email, expected in (("ther@example.test", 200), ("sup@example.test", 200), ("admin@example.test", 200),
                            ("other@example.test", 404)):
        client = app.test_client()
        AuthActions(client).login(email)
        response = client.get(f"/evidence/{mark.id}")
        assert response.status_code == expected, email
        if expected == 200:
            assert response.get_data() == PNG
            assert "attachment" in response.headers["Content-Disposition"]
    assert app.test_client().get(f"/evidence/{mark.id}").status_code == 302


def test_other_file_types_are_refused(app: Flask, setup: dict[str, Any]) -> None:
    status, body = upload(app, setup, b"MZ\x90\x00 executable", "photo.png")
    assert status == 400
    assert "PDF, PNG or JPEG" in body
    with app.app_context():
        assert db.session.scalars(select(StatementMark)).all() == []


def test_oversized_upload_is_refused(app: Flask, setup: dict[str, Any]) -> None:
    status, _ = upload(app, setup, b"%PDF-" + b"0" * (6 * 1024 * 1024), "big.pdf")
    assert status == 413
    with app.app_context():
        assert db.session.scalars(select(StatementMark)).all() == []
