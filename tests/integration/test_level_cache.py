"""``catalogue.get_level``: a level and its framework read once per app, then merged into each session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event, select

from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.models import Framework, Level


@contextmanager
def level_reads(app: Flask) -> Iterator[list[str]]:
    """The SELECTs that read the levels or frameworks tables while the block runs."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        reads_levels = "FROM levels" in statement or "FROM frameworks" in statement
        if statement.lstrip().upper().startswith("SELECT") and reads_levels:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def first_level(app: Flask) -> tuple[int, str, str]:
    with app.app_context():
        level = db.session.scalars(select(Level).order_by(Level.position)).first()
        return level.id, level.label, level.framework.title


def test_a_level_is_read_once_and_then_comes_whole_without_a_query(app: Flask, framework: int) -> None:
    level_id, label, title = first_level(app)
    with level_reads(app) as reads:
        with app.app_context():
            assert catalogue.get_level(db.session, level_id).label == label
        assert len(reads) == 1
        with app.app_context():
            level = catalogue.get_level(db.session, level_id)
            assert level in db.session
            assert (level.label, level.framework.title) == (label, title)
            assert len(reads) == 1
            # Its collections are not the copy's: they load, and load complete.
            assert [lv.position for lv in level.framework.levels] == [1, 2, 3, 4]
            assert len(level.statements) == 10
            assert all(s.level is level for s in level.statements)


def test_a_level_the_session_holds_is_the_one_returned(app: Flask, framework: int) -> None:
    level_id, _, _ = first_level(app)
    with app.app_context():
        catalogue.get_level(db.session, level_id)
    with app.app_context():
        held = db.session.get(Level, level_id)
        assert catalogue.get_level(db.session, level_id) is held


def test_an_unknown_level_is_none_and_asked_again(app: Flask, framework: int) -> None:
    with level_reads(app) as reads:
        for _ in range(2):
            with app.app_context():
                assert catalogue.get_level(db.session, 999_999) is None
    assert len(reads) == 2


def test_what_a_request_does_to_its_level_stays_in_that_request(app: Flask, framework: int) -> None:
    level_id, label, title = first_level(app)
    with app.app_context():
        catalogue.get_level(db.session, level_id)
    with app.app_context():
        level = catalogue.get_level(db.session, level_id)
        level.label = "Changed"
        level.framework.title = "Changed too"
        db.session.rollback()
    with app.app_context():
        level = catalogue.get_level(db.session, level_id)
        assert (level.label, level.framework.title) == (label, title)
        assert db.session.get(Framework, level.framework_id) is level.framework
