"""The migration history builds the schema the models describe, on both databases."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from issuer import create_app
from issuer.config import ROOT
from issuer.extensions import db


def test_upgrade_from_blank_matches_models(app_config: dict[str, Any]) -> None:
    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(directory=str(ROOT / "migrations"))
        tables = set(inspect(db.engine).get_table_names())
        assert {"frameworks", "levels", "statements", "users", "credentials", "status_lists", "audit_events"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                lz4 = "lz4" in conn.exec_driver_sql(
                    "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar_one()
                compression: dict[str, str] = dict(conn.exec_driver_sql(
                    "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
                    "WHERE attname IN ('document', 'jwt', 'signed_document') AND attnum > 0").all())
            expected = "l" if lz4 else ""
            assert {compression[c] for c in ("credentials.document", "credentials.jwt",
                                             "status_lists.signed_document")} == {expected}
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()


def test_subject_ids_migration_gives_every_existing_account_its_own_uuid(app_config: dict[str, Any]) -> None:
    """a16a01c0de01 on a database with accounts: each gets a fresh, distinct subject id; downgrade removes them."""
    app = create_app(app_config)
    directory = str(ROOT / "migrations")
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(directory=directory, revision="4d7b2c9e8f10")
        users = sa.table("users", *(sa.column(name) for name in (
            "email", "name", "role", "password_hash", "active", "created_at", "public_profile", "recipient_salt")))
        now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        with db.engine.begin() as conn:
            conn.execute(users.insert(), [
                {"email": f"t{i}@example.org", "name": f"T {i}", "role": "therapist", "password_hash": "x",
                 "active": True, "created_at": now, "public_profile": False, "recipient_salt": f"salt{i}"}
                for i in range(3)
            ])
        upgrade(directory=directory, revision="a16a01c0de01")
        with db.engine.connect() as conn:
            values = conn.execute(sa.select(sa.table("users", sa.column("subject_id", sa.Uuid())).c.subject_id))
            subject_ids = [row[0] for row in values]
        assert len(subject_ids) == 3
        assert all(isinstance(value, uuid.UUID) and value.version == 4 for value in subject_ids)
        assert len(set(subject_ids)) == 3
        with db.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):  # unique
            conn.execute(sa.text("UPDATE users SET subject_id = (SELECT subject_id FROM users WHERE email = "
                                 "'t0@example.org') WHERE email = 't1@example.org'"))
        downgrade(directory=directory, revision="4d7b2c9e8f10")
        assert "subject_id" not in {c["name"] for c in inspect(db.engine).get_columns("users")}
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
