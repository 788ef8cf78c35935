"""Work queued with ``on_commit`` runs after the commit, never after a rollback, and a failing action undoes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from issuer.platform.on_commit import on_commit


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_action_runs_after_the_commit_and_sees_the_committed_row(session: Session) -> None:
    seen: list[str] = []
    session.execute(text("INSERT INTO t VALUES (1)"))
    on_commit(session, lambda: seen.append("sent"))
    assert seen == []
    session.commit()
    assert seen == ["sent"]
    session.commit()  # a later commit does not run it again
    assert seen == ["sent"]


def test_rollback_drops_the_action(session: Session) -> None:
    seen: list[str] = []
    session.execute(text("INSERT INTO t VALUES (1)"))
    on_commit(session, lambda: seen.append("sent"))
    session.rollback()
    session.commit()
    assert seen == []
    assert session.scalar(text("SELECT count(*) FROM t")) == 0


def test_a_failing_action_is_logged_and_the_next_one_still_runs(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def fail() -> None:
        raise RuntimeError("smtp down")

    session.execute(text("INSERT INTO t VALUES (1)"))
    on_commit(session, fail)
    on_commit(session, lambda: seen.append("second"))
    with caplog.at_level(logging.ERROR, logger="issuer.platform.on_commit"):
        session.commit()
    assert seen == ["second"]
    assert "smtp down" in caplog.text
    assert session.scalar(text("SELECT count(*) FROM t")) == 1
