"""Fault injection during issuance: whatever fails, nothing is left half-issued."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from issuer.extensions import db
from issuer.issuance import completion, signing
from issuer.models import AuditEvent, Credential, Framework, LevelCompletion, StatementMark, StatusEntry, User, utcnow
from issuer.status_lists import lists as status_lists


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) or 0
                for m in (LevelCompletion, Credential, StatusEntry, AuditEvent)}


@pytest.fixture
def ready(app: Flask, people: dict[str, int]) -> dict[str, int]:
    """Every Emerging statement met; nothing issued yet."""
    from issuer.learning import record_book

    with app.test_request_context():
        sup, ther = db.session.get_one(User, people["supervisor"]), db.session.get_one(User, people["therapist"])
        for statement in db.session.scalars(select(Framework)).one().levels[0].statements:
            record_book.mark_statement(db.session, supervisor=sup, therapist=ther, statement=statement,
                                   observed_on=utcnow().date())
        db.session.commit()
    return people


def complete(app: Flask, people: dict[str, int]) -> tuple[str, str]:
    """What the view does: the service, then one commit; rollback on failure."""
    with app.test_request_context():
        try:
            level = db.session.scalars(select(Framework)).one().levels[0]
            credential = completion.complete_level(
                db.session, supervisor=db.session.get_one(User, people["supervisor"]),
                therapist=db.session.get_one(User, people["therapist"]), level=level)
            db.session.commit()
            return str(credential.id), credential.level.label
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure")


@pytest.mark.parametrize("step", ["after status allocation", "after signing", "before commit"])
def test_failure_at_each_step_leaves_nothing(app: Flask, ready: dict[str, int], monkeypatch: pytest.MonkeyPatch,
                                             step: str) -> None:
    before = counts(app)
    if step == "after status allocation":
        real_allocate = status_lists.allocate

        def allocate_then_fail(*args: Any, **kwargs: Any) -> Any:
            real_allocate(*args, **kwargs)
            raise RuntimeError("injected failure")

        monkeypatch.setattr(status_lists, "allocate", allocate_then_fail)
    elif step == "after signing":
        real_sign = signing.sign

        def sign_then_fail(*args: Any, **kwargs: Any) -> Any:
            real_sign(*args, **kwargs)
            raise RuntimeError("injected failure")

        monkeypatch.setattr(signing, "sign", sign_then_fail)
    else:
        monkeypatch.setattr(db.session, "commit", boom)
    with pytest.raises(RuntimeError, match="injected failure"):
        complete(app, ready)
    monkeypatch.undo()
    assert counts(app) == before
    assert complete(app, ready)[1] == "Emerging"  # and it works once the fault is gone


def test_connection_dropping_mid_issuance_leaves_nothing(app: Flask, ready: dict[str, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    before = counts(app)
    real_sign = signing.sign

    def drop_connection(session: Any, *args: Any, **kwargs: Any) -> Any:
        signed = real_sign(session, *args, **kwargs)
        # The database goes away: invalidate the connection under the session, as a server restart would.
        session.connection().invalidate()
        return signed

    monkeypatch.setattr(signing, "sign", drop_connection)
    with pytest.raises(SQLAlchemyError):
        complete(app, ready)
    monkeypatch.undo()
    assert counts(app) == before
    assert complete(app, ready)[0]


def test_issuance_refuses_when_clocks_disagree(app: Flask, ready: dict[str, int]) -> None:
    with app.test_request_context():
        level = db.session.scalars(select(Framework)).one().levels[0]
        with pytest.raises(completion.ClockDrift, match="disagree"):
            completion.complete_level(db.session, supervisor=db.session.get_one(User, ready["supervisor"]),
                                    therapist=db.session.get_one(User, ready["therapist"]), level=level,
                                    now=utcnow() + dt.timedelta(minutes=5))
        db.session.rollback()
    assert counts(app)["Credential"] == 0


def test_learning_record_is_never_rewritten(app: Flask, ready: dict[str, int]) -> None:
    """Issuance reads the record; it adds to it nothing and changes nothing in it."""
    with app.app_context():
        before = [(m.id, m.kind, m.note) for m in db.session.scalars(select(StatementMark).order_by(StatementMark.id))]
    complete(app, ready)
    with app.app_context():
        after = [(m.id, m.kind, m.note) for m in db.session.scalars(select(StatementMark).order_by(StatementMark.id))]
    assert after == before
