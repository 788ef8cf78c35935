"""The audit log told in sentences with people's names, and exported as CSV that no spreadsheet runs as a formula
(issue 17), on both databases."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from issuer.extensions import db
from issuer.models import AuditEvent, User
from issuer.platform import audit, audit_log
from issuer.platform.spreadsheet import safe_cell
from tests.conftest import AuthActions, MakeUser
from tests.integration.helpers import issue

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]


@pytest.fixture
def admin(people: dict[str, int], auth: AuthActions) -> dict[str, int]:
    assert auth.login("admin@example.test").status_code == 302
    return people


def exported(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = client.get("/admin/audit.csv" + query)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_events_read_as_sentences_with_names(app: Flask, client: FlaskClient, admin: dict[str, int]) -> None:
    credential_id = issue(app, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Sam Supervisor issued \u201cEmerging\u201d to Taylor Therapist." in html
    assert "Alex Admin signed in." in html
    assert "user 3" not in html
    assert "therapist=" not in html  # no raw key=value details
    with app.test_request_context():
        supervisor = db.session.get_one(User, admin["supervisor"])
        from issuer.issuance import revocation
        from issuer.models import Credential

        revocation.change(db.session, db.session.get_one(Credential, credential_id), action="revoke",
                          reason="Issued in error.", actor=supervisor)
        db.session.commit()
    html = client.get("/admin/audit?action=credential.revoked").get_data(as_text=True)
    assert ("Sam Supervisor revoked Taylor Therapist\u2019s \u201cEmerging\u201d credential (reason: Issued in "
            "error.).") in html


def test_every_action_the_service_records_has_a_sentence() -> None:
    import pathlib
    import re

    root = pathlib.Path(audit_log.__file__).resolve().parent.parent
    recorded = set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        recorded |= set(re.findall(r'audit\.record\(\s*(?:db\.)?session,\s*"([a-z_.]+)"', text))
        recorded |= set(re.findall(r'"((?:credential|account)\.[a-z_]+)"', text)) & set(audit_log.SENTENCES)
    recorded |= {"credential.revoked", "credential.suspended", "credential.unsuspended", "account.activated",
                 "account.deactivated", "ce.approved", "ce.returned"}  # chosen by a mapping or a condition
    missing = recorded - set(audit_log.SENTENCES)
    assert not missing, f"add a sentence for {sorted(missing)} to SENTENCES in issuer/platform/audit_log.py"


def test_csv_export_escapes_formulas_in_hostile_names(app: Flask, client: FlaskClient, auth: AuthActions,
                                                      admin: dict[str, int], make_user: MakeUser) -> None:
    for n, name in enumerate(HOSTILE):
        make_user(f"x{n}@example.test", name=f"Person {n}")
        with app.app_context():
            person = db.session.scalars(select(User).filter_by(email=f"x{n}@example.test")).one()
            person.name = name  # the directory refuses control characters; the export must not trust that
            db.session.commit()
            audit.record(db.session, "test.hostile", actor=person, note=name)
            db.session.commit()
    rows = exported(client, "?action=test.hostile")
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    names = sorted(r["actor_name"] for r in rows)
    assert names == sorted("'" + h for h in HOSTILE)
    assert all(r["event"].startswith("'") for r in rows)  # the sentence starts with the hostile name too


def test_csv_export_keeps_the_filters_and_every_column(app: Flask, client: FlaskClient, auth: AuthActions,
                                                       admin: dict[str, int]) -> None:
    auth.post("/admin/settings", {"allow_override": "y"})
    rows = exported(client, "?action=setting.changed&actor=ADMIN@example.test")
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["time_utc", "actor_name", "actor_email", "action", "event", "subject_type", "subject_id",
                         "address", "details"]
    assert row["actor_name"] == "Alex Admin"
    assert row["actor_email"] == "admin@example.test"
    assert row["event"] == "Alex Admin set allow_override to true."
    assert row["details"] == '{"value": "true"}'
    assert row["address"] == "127.0.0.1"
    everything = exported(client)
    assert len(everything) > 5
    assert client.get("/admin/audit.csv?from=not-a-date").status_code == 400
    page = client.get("/admin/audit?action=setting.changed").get_data(as_text=True)
    assert 'href="/admin/audit.csv?action=setting.changed"' in page


def test_csv_export_reads_in_batches(app: Flask, client: FlaskClient, admin: dict[str, int],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "EXPORT_BATCH", 7)
    with app.app_context():
        for n in range(30):
            audit.record(db.session, "test.batch", actor=None, n=n, marker=str(uuid.uuid4()))
        db.session.commit()
        ids = db.session.scalars(select(AuditEvent.id).filter_by(action="test.batch")
                                 .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    rows = exported(client, "?action=test.batch")
    assert [r["details"].split('"n": ')[1].rstrip("}") for r in rows] == [str(n) for n in range(29, -1, -1)]
    assert len(ids) == 30


def test_only_admins_export(app: Flask, people: dict[str, int]) -> None:
    anonymous = app.test_client().get("/admin/audit.csv")
    assert anonymous.status_code == 302
    therapist = app.test_client()
    AuthActions(therapist).login("ther@example.test")
    assert therapist.get("/admin/audit.csv").status_code == 403


@pytest.mark.parametrize(("cell", "safe"), [("=1+2", "'=1+2"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ana", "Ana"), ("", ""),
                                            ("a=b", "a=b"), ("2026-01-01", "2026-01-01")])
def test_safe_cell(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe
