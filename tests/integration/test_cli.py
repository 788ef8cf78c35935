"""The `issuer` command: init, users, verify."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from issuer import create_app
from issuer.extensions import db
from issuer.models import Credential, IssuerKey, Statement, StatusList, User, utcnow
from issuer.status_lists import lists as status_lists
from tests.integration.helpers import issue, seed_people


def test_init_is_idempotent_from_a_blank_database(app_config: dict[str, Any], keys_dir: Path) -> None:
    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "Created Ed25519 key" in first.output
    assert "Imported Music Therapists" in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "Created" not in second.output
    assert "Already imported" in second.output
    assert "status list" not in second.output  # nothing to sign
    with app.app_context():  # a list an older release left unsigned: init signs it (serving it only reads)
        status_list = StatusList(public_id=uuid.uuid4(), purpose="revocation", length=status_lists.LIST_LENGTH,
                                 allocated=0, bits=bytes(status_lists.LIST_LENGTH // 8), version=3,
                                 signed_document=None, signed_version=None, created_at=utcnow(),
                                 updated_at=utcnow())
        db.session.add(status_list)
        db.session.commit()
    third = runner.invoke(args=["init"])
    assert third.exit_code == 0, third.output
    assert "Signed 1 status list(s)." in third.output, third.output
    with app.app_context():
        signed = db.session.scalars(select(StatusList)).one()
        assert signed.signed_version == 3
        assert signed.signed_document is not None
        assert '"BitstringStatusListCredential"' in signed.signed_document
        db.session.remove()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Statement)) == 40
        assert db.session.scalar(select(func.count()).select_from(IssuerKey)) == 2
        db.session.remove()  # end the session's transaction before dropping what it read
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
    assert len(list(keys_dir.glob("*.pem"))) == 2


def test_users_add_reads_the_password_from_stdin(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["users", "add", "New@Example.test", "--name", "Nia New", "--role",
                                                "supervisor"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output  # not generated, so not printed
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert (user.email, user.role.value) == ("new@example.test", "supervisor")
    again = app.test_cli_runner().invoke(args=["users", "add", "new@example.test", "--name", "X", "--role",
                                               "therapist"], input="a long enough password\n")
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_assign_command(app: Flask) -> None:
    seed_people(app)
    result = app.test_cli_runner().invoke(args=["assign", "other@example.test", "ther@example.test"])
    assert result.exit_code == 0, result.output
    bad = app.test_cli_runner().invoke(args=["assign", "ther@example.test", "other@example.test"])
    assert bad.exit_code == 1
    assert "is not a supervisor" in bad.output


def test_verify_command_exit_codes(app: Flask, tmp_path: Path) -> None:
    people = seed_people(app)
    credential_id = issue(app, people)
    with app.app_context():
        credential = db.session.get(Credential, credential_id)
        document, jwt = credential.document, credential.jwt
    runner = app.test_cli_runner()
    (tmp_path / "c.json").write_text(document)
    (tmp_path / "c.jwt").write_text(jwt)
    tampered = json.loads(document)
    tampered["name"] = "Music Therapists: Advanced"
    (tmp_path / "bad.json").write_text(json.dumps(tampered))
    (tmp_path / "junk.txt").write_text("this is not a credential")
    ok = runner.invoke(args=["verify", str(tmp_path / "c.json")])
    assert ok.exit_code == 0
    assert json.loads(ok.output)["verified"] is True
    ok_jwt = runner.invoke(args=["verify", str(tmp_path / "c.jwt")])
    assert ok_jwt.exit_code == 0, ok_jwt.output
    bad = runner.invoke(args=["verify", str(tmp_path / "bad.json")])
    assert bad.exit_code == 1
    assert any(c["check"] == "issuer" and c["ok"] is False and c["message"].startswith("Not issued by this service")
               for c in json.loads(bad.output)["checks"])
    junk = runner.invoke(args=["verify", str(tmp_path / "junk.txt")])
    assert junk.exit_code == 2
