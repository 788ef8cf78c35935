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


def insert_or_ignore(session: Any, model: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's backend (PostgreSQL and SQLite both have it).

    A row that would break a unique constraint is skipped instead of failing the
    statement, so a caller can claim a unique value with one round trip and learn
    from ``RETURNING`` whether it won, with no SAVEPOINT around it.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).on_conflict_do_nothing()


def transaction_of(session: Any) -> Any:
    """The session's current transaction (also through Flask-SQLAlchemy's scoped session), or None.

    Used to tie per-transaction memos in ``session.info`` to the transaction that saw them.
    """
    from sqlalchemy.orm import scoped_session

    real = session() if isinstance(session, scoped_session) else session
    return real.get_transaction()
