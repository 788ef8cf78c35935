"""Bulk issuance from CSV: dry run with errors by line, then issue; re-upload issues nothing twice."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from issuer.extensions import db
from issuer.models import Credential
from tests.conftest import AuthActions
from tests.integration.helpers import seed_people

CSV = """therapist_email,level,completion_date,supervisor_email
ther@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,developing,2025-06-15,sup@example.test
nobody@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,Proficient,2025-09-30,sup@example.test
ther@example.test,Expert,2025-10-01,sup@example.test
"""


def post(client: FlaskClient, auth: AuthActions, action: str, **data: Any) -> TestResponse:
    return client.post("/admin/bulk", data={"csrf_token": auth.csrf("/admin/bulk"), "action": action, **data},
                       content_type="multipart/form-data")


def credentials(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Credential)) or 0


def test_three_good_two_bad_rows(app: Flask) -> None:
    seed_people(app)
    client = app.test_client()
    auth = AuthActions(client)
    auth.login("admin@example.test")
    dry = post(client, auth, "check", file=(io.BytesIO(CSV.encode()), "completions.csv"))
    assert dry.status_code == 200
    html = dry.get_data(as_text=True)
    assert "5 rows: 3 ready, 2 with errors" in html
    assert re.search(r"<td>4</td>.*?no account for nobody@example.test", html, re.DOTALL)
    assert re.search(r"<td>6</td>.*?no level &#39;Expert&#39;", html, re.DOTALL)
    assert credentials(app) == 0  # the dry run wrote nothing

    issued = post(client, auth, "issue", csv=CSV).get_data(as_text=True)
    assert "Issued 3 credential(s)." in issued
    assert credentials(app) == 3
    with app.app_context():
        awarded = sorted(c.document.split('"awardedDate": "')[1][:10] for c in db.session.scalars(select(Credential)))
    assert awarded == ["2025-03-01", "2025-06-15", "2025-09-30"]

    again = post(client, auth, "issue", file=(io.BytesIO(CSV.encode()), "completions.csv")).get_data(as_text=True)
    assert "Issued 0 credential(s)." in again
    assert again.count("already issued") == 3
    assert credentials(app) == 3


def test_wrong_header_is_a_clear_400(app: Flask) -> None:
    seed_people(app)
    client = app.test_client()
    auth = AuthActions(client)
    auth.login("admin@example.test")
    response = post(client, auth, "check", csv="email,level\nx,y\n")
    assert response.status_code == 400
    assert "the first line must be the header" in response.get_data(as_text=True)
