"""Engine set-up that the backends need beyond a URL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event

from issuer.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)


def configure_sqlite(engine: Engine) -> None:
    """Make SAVEPOINT and transactions behave on pysqlite, and enforce foreign keys.

    pysqlite begins transactions lazily on its own, which breaks SAVEPOINT
    (``session.begin_nested()``, used so a duplicate insert leaves the outer
    transaction usable). SQLAlchemy's SQLite dialect docs give the remedy:
    turn off the driver's handling and emit BEGIN ourselves.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
