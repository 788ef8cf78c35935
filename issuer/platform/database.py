"""Engine set-up that the backends need beyond a URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeAlias, cast

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, scoped_session
from werkzeug.local import LocalProxy

from issuer.extensions import db

#: The session a service takes: a plain ``Session`` (a command, a test) or Flask-SQLAlchemy's ``db.session``, a
#: ``scoped_session`` that hands every call to the current app context's own ``Session``. The two share the
#: methods services use (``execute``, ``scalars``, ``get``, ``add``, ``flush``, ``begin_nested``, ``info``).
SessionLike: TypeAlias = Session | scoped_session[Any]

#: Seconds a pooled connection may sit unused before it is pinged on checkout (see ``ping_idle_connections``).
PING_AFTER_IDLE = 10.0


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        else:
            ping_idle_connections(engine)


def ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection with a round trip before use, but only if it sat idle for ``PING_AFTER_IDLE``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one extra round trip per request, a real share of a
    request that is itself one query, like a cached verification. A connection in steady use has just proved
    itself; one that sat idle may have been closed by a database restart, a failover or an idle timeout in
    between. A failed ping raises
    ``DisconnectionError``, on which the pool discards the connection and opens a fresh one. A connection that
    dies while in use is caught by SQLAlchemy's disconnect detection, which also discards every pooled connection
    older than the failure.
    """

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")  # absent on a connection just opened
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error
        if not alive:
            raise exc.DisconnectionError("pooled connection failed its ping")


#: Marks a session (``session.info``) whose request only reads: see ``read_only``.
READ_ONLY = "issuer.read_only"


def read_only(session: Any) -> None:
    """Declare that this request only reads, so its state reads may go to the reader engine (see ``reading``).

    The session itself is unchanged: anything the request reads through it (a verification that misses the
    cache) runs in an ordinary transaction, which the request boundary rolls back (``issuer.platform.transactions``).
    """
    session.info[READ_ONLY] = True
    _WRITES.set(False)  # nothing to write: on SQLite, its transactions need not wait for the write lock


@contextmanager
def reading(session: Any) -> Iterator[Connection]:
    """A connection for one statement that reads what decides an answer: the reader in a read-only request.

    On PostgreSQL a read through the session costs three round trips (BEGIN, the query, COMMIT or ROLLBACK) plus the
    session's own bookkeeping, and psycopg forgets its prepared statements on ROLLBACK. The reader engine's
    connections are in autocommit: the query is the only round trip and stays prepared. Being outside the
    session's transaction, it sees only what is committed, which is why it is kept to requests marked
    ``read_only`` (nothing of their own to see) and to single statements (each is its own snapshot).
    Elsewhere, and on SQLite, where a transaction costs no round trip, this is the session's connection.
    """
    if session.info.get(READ_ONLY) and session.get_bind().dialect.name == "postgresql":
        with reader_engine().connect() as connection:
            yield connection
    else:
        yield session.connection()


@contextmanager
def state_connection() -> Iterator[Connection]:
    """A connection outside any session for one state read (``issuer.platform.replay``): the reader on PostgreSQL."""
    engine = reader_engine() if db.engine.dialect.name == "postgresql" else db.engine
    with engine.connect() as connection:
        connection.execution_options(**{DEFERRED_BEGIN: True})  # a read beside the session: never the write lock
        yield connection


_reader_lock = threading.Lock()


def reader_engine(app: Flask | None = None) -> Engine:
    """This app's autocommit engine for public reads, made on first use in each process (so after a fork)."""
    app = app or cast("LocalProxy[Flask]", current_app)._get_current_object()  # the app, not its proxy
    engine = app.extensions.get("issuer.reader")
    if engine is None:
        with _reader_lock:
            engine = app.extensions.get("issuer.reader")
            if engine is None:
                engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT",
                                       **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
                ping_idle_connections(engine)
                app.extensions["issuer.reader"] = engine
    return engine


def dispose(app: Flask) -> None:
    """Close every pooled connection of this app, the reader's too (tests, and before dropping a database)."""
    with app.app_context():
        db.engine.dispose()
    reader = app.extensions.pop("issuer.reader", None)
    if reader is not None:
        reader.dispose()


#: Whether the transactions begun in this context are to write (see ``writing``).
_WRITES: ContextVar[bool] = ContextVar("issuer.writes", default=False)
#: The connection whose ``BEGIN IMMEDIATE`` took SQLite's write lock in this context (see ``configure_sqlite``).
_HOLDER: ContextVar[Connection | None] = ContextVar("issuer.write_lock_holder", default=None)
#: Execution option of a connection that only reads beside a writing transaction: its BEGIN stays deferred.
DEFERRED_BEGIN = "issuer_deferred_begin"


@contextmanager
def writing() -> Iterator[None]:
    """Mark the work in this block as work that writes: a request with a writing method, a command.

    On SQLite its transactions begin with ``BEGIN IMMEDIATE`` (see ``configure_sqlite``); elsewhere nothing changes.
    The mark is a context variable: it holds for this thread (or task) only, until the block ends.
    """
    writes, holder = _WRITES.set(True), _HOLDER.set(None)
    try:
        yield
    finally:
        _HOLDER.reset(holder)
        _WRITES.reset(writes)


def configure_sqlite(engine: Engine) -> None:
    """Make SAVEPOINT and transactions behave on pysqlite, and enforce foreign keys.

    pysqlite begins transactions lazily on its own, which breaks SAVEPOINT
    (``session.begin_nested()``, used so a duplicate insert leaves the outer
    transaction usable). SQLAlchemy's SQLite dialect docs give the remedy:
    turn off the driver's handling and emit BEGIN ourselves.

    Which BEGIN: a deferred ``BEGIN`` reads from a snapshot taken at its first statement. If the transaction then
    writes after another connection has committed, SQLite refuses at once ("database is locked", without waiting:
    ``busy_timeout`` cannot help, as the snapshot is stale). So work marked as writing (``writing``: requests with a
    writing method, commands) begins with ``BEGIN IMMEDIATE``, which waits, up to ``busy_timeout``, for the write
    lock and then reads the latest data; concurrent writers take turns instead of failing. Reads keep a deferred
    BEGIN, and so do a request marked ``read_only`` and a connection with the ``DEFERRED_BEGIN`` option.

    Within one piece of writing work, a second connection must not begin to write while the first holds the lock:
    it would wait for itself. Connections of their own (the rate limit's count, an API token's use) therefore
    commit before the request's session begins; a second ``BEGIN IMMEDIATE`` while another connection of the same
    context holds the lock is a bug, refused at once rather than after ``busy_timeout``.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if not _WRITES.get() or conn.get_execution_options().get(DEFERRED_BEGIN):
            conn.exec_driver_sql("BEGIN")
            return
        holder = _HOLDER.get()
        if holder is not None and holder is not conn and holder.in_transaction():
            raise RuntimeError("a second connection would wait for the write lock its own work holds; "
                               "commit the first transaction before beginning another that writes")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        _HOLDER.set(conn)


def insert_or_ignore(session: Any, model: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's backend (PostgreSQL and SQLite both have it).

    A row that would break a unique constraint is skipped instead of failing the
    statement, so a caller can claim a unique value with one round trip and learn
    from ``RETURNING`` whether it won, with no SAVEPOINT around it.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert
        return postgresql_insert(model).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    return sqlite_insert(model).on_conflict_do_nothing()


def transaction_of(session: Any) -> Any:
    """The session's current transaction (also through Flask-SQLAlchemy's scoped session), or None.

    Used to tie per-transaction memos in ``session.info`` to the transaction that saw them.
    """
    from sqlalchemy.orm import scoped_session

    real = session() if isinstance(session, scoped_session) else session
    return real.get_transaction()
