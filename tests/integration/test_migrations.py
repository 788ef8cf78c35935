"""The migration history builds the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
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
