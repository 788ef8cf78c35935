"""Connection handling on PostgreSQL: autocommit for public reads, and pings for connections that sat idle.

Both exist to save round trips on every request; these tests hold them to not costing correctness: a read-only
request hands back a connection that is transactional again, and a connection the server closed while it sat
in the pool is replaced instead of failing the next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from issuer.extensions import db
from issuer.platform import database
from tests.conftest import fresh_app, make_test_config
from tests.integration.helpers import issue, seed_people


@pytest.fixture
def one_connection_app(postgres_server_url: str, keys_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on PostgreSQL whose pool holds a single connection, so every request reuses the one before's."""
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 5}
    config = {**make_test_config(postgres_server_url, keys_dir, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": pool}
    with fresh_app(config) as app:
        yield app


def transaction_ids(session: Any, n: int = 2) -> list[str]:
    """The transaction id each of ``n`` statements ran in (equal ids: one transaction)."""
    return [str(session.execute(sa.text("SELECT pg_current_xact_id()")).scalar()) for _ in range(n)]


def test_reads_of_a_read_only_request_run_in_autocommit_outside_the_session(one_connection_app: Flask) -> None:
    with one_connection_app.app_context():
        database.read_only(db.session)
        with database.reading(db.session) as connection:
            first_id, second_id = transaction_ids(connection)
        assert first_id != second_id  # each statement committed alone
        first_id, second_id = transaction_ids(db.session)  # the session itself is an ordinary transaction
        assert first_id == second_id
        db.session.rollback()


def test_reads_elsewhere_stay_in_the_session_and_see_its_own_writes(one_connection_app: Flask) -> None:
    seed_people(one_connection_app)
    with one_connection_app.app_context():
        from issuer.models import User

        db.session.execute(sa.update(User).values(name="Renamed"))
        with database.reading(db.session) as connection:
            names = set(connection.execute(sa.select(User.name)).scalars())
        assert names == {"Renamed"}  # the uncommitted update, seen: the same transaction
        db.session.rollback()


def test_a_read_only_request_answers_from_what_is_committed(one_connection_app: Flask) -> None:
    """A verification page served while a revocation is being written (flushed, row locked, not committed)
    answers from what is committed, without waiting on the lock, and shows the revocation once it commits."""
    from sqlalchemy.orm import Session

    from issuer.issuance import revocation
    from issuer.models import Credential, User

    people = seed_people(one_connection_app)
    credential_id = issue(one_connection_app, people)
    client = one_connection_app.test_client()
    assert "Revoked" not in client.get(f"/verify/{credential_id}").get_data(as_text=True)
    # the writer holds the pool's one connection: the page must not need it
    with one_connection_app.test_request_context(), Session(db.engine) as writer:
        revocation.change(writer, writer.get_one(Credential, credential_id), action="revoke", reason="test",
                          actor=writer.get(User, people["supervisor"]))
        page = client.get(f"/verify/{credential_id}")
        assert page.status_code == 200
        assert "Revoked" not in page.get_data(as_text=True)
        writer.commit()
    assert "Revoked" in client.get(f"/verify/{credential_id}").get_data(as_text=True)


def test_idle_connection_closed_by_the_server_is_replaced(one_connection_app: Flask, postgres_server_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with one_connection_app.app_context():
        engine = db.engine
    name = sa.engine.make_url(postgres_server_url).database

    def server_restart() -> None:
        """What a restart does to the pool's connection: the server ends its backend."""
        admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            ended = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).scalar()
        assert ended == 1  # the pool's one connection

    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    server_restart()
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 3600.0)  # not idle long enough to be pinged: the query fails
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))

    with engine.connect() as conn:  # the failure discarded it; a new connection works
        conn.execute(sa.text("SELECT 1"))
    server_restart()
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)  # idle long enough: pinged, found dead, replaced
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
