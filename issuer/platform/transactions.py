"""The request owns the transaction: one commit after a view that succeeded, a rollback otherwise.

Services flush; views never commit. ``init_app`` wraps every view once its blueprints are registered, so that:

- a view that returns an answer below 400 to a request that may write (POST, PUT, PATCH, DELETE) gets one commit
  for all its work, if it wrote anything, and the actions waiting for it (``issuer.platform.on_commit``) run
  after that commit;
- an exception, an answer of 400 or more, or a safe method (GET, HEAD, OPTIONS) rolls back: reads never write,
  and nothing is half-written;
- a commit that fails is an answer with the right status, through the usual error handlers: a lock or
  serialization failure (SQLite ``database is locked``, PostgreSQL 40001/40P01) is a 503 with ``Retry-After``,
  a constraint that a concurrent request broke is a 409, anything else the plain 500 page. Never a stack trace.

On SQLite, a request that may write begins its transactions with ``BEGIN IMMEDIATE``
(``issuer.platform.database.writing``): concurrent writers wait for each other instead of failing, so the 503 above is
the last resort for a lock held longer than ``busy_timeout``.

A view whose error answer must still keep some writes (a failed sign-in counts towards the limit) calls
``keep_writes()``. The command line is its own boundary: each command commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import Flask, g, request
from flask import session as flask_session
from sqlalchemy import TextClause, event, exc
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from issuer.errors import Conflict, IssuerError
from issuer.extensions import db
from issuer.platform import database

log = logging.getLogger(__name__)

#: Methods that never write: their transaction is always rolled back.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds a client is asked to wait after a lock or serialization failure.
RETRY_AFTER = 1
#: PostgreSQL SQLSTATEs of a transaction that lost to a concurrent one and may simply be tried again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_KEEP = "issuer.keep_writes"


class Busy(IssuerError):
    """The database was busy with concurrent work: try again shortly (503 with ``Retry-After``)."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str = "The service is busy with other changes; nothing was saved. Try again "
                                      "in a moment.") -> None:
        super().__init__(message)
        self.retry_after = RETRY_AFTER


def keep_writes() -> None:
    """Commit this request's writes even though its answer is an error (below 500)."""
    g.setdefault(_KEEP, True)


def is_contention(error: BaseException) -> bool:
    """Whether ``error`` is a lock or serialization failure: the work may succeed if tried again."""
    if not isinstance(error, exc.DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    message = str(error.orig).lower()
    return isinstance(error, exc.OperationalError) and ("database is locked" in message
                                                        or "database table is locked" in message)


def _translated(error: BaseException) -> BaseException:
    if is_contention(error):
        return Busy()
    return error


def commit() -> None:
    """Commit the request's session; a failure rolls back and raises the error the client should get."""
    try:
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        flask_session.pop("_flashes", None)  # "Saved." would be untrue
        if is_contention(error):
            log.warning("commit lost to concurrent work on %s %s: %s", request.method, request.path, error)
            raise Busy from None
        if isinstance(error, exc.IntegrityError):
            log.warning("commit broke a constraint on %s %s: %s", request.method, request.path, error)
            raise Conflict("This change conflicts with another one made at the same time; nothing was saved. "
                           "Reload and try again.") from None
        raise


#: ``session.info`` key: the session's transaction has written (flushed changes, or ran INSERT, UPDATE, DELETE).
_WROTE = "issuer.wrote"


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete or (
            isinstance(statement, TextClause) and not statement.text.lstrip().upper().startswith("SELECT")):
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def wrote() -> bool:
    """Whether the request's transaction has written anything so far, or holds changes not yet flushed."""
    session = db.session
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def in_transaction(view: Callable[..., Any], app: Flask) -> Callable[..., Any]:
    """``view`` with the request boundary around it (see the module's docstring)."""

    @wraps(view)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return _bounded(*args, **kwargs)
        with database.writing():  # on SQLite, its transactions wait for the write lock at BEGIN, not fail later
            return _bounded(*args, **kwargs)

    def _bounded(*args: Any, **kwargs: Any) -> Any:
        try:
            response = app.make_response(view(*args, **kwargs))
        except BaseException as error:
            db.session.rollback()
            translated = _translated(error)
            if translated is not error:
                raise translated from None
            raise
        status = response.status_code
        if request.method in SAFE_METHODS:
            if wrote():  # a bug: say so, and keep nothing
                log.error("%s %s wrote to the database; rolled back", request.method, request.path)
            db.session.rollback()
        elif wrote() and (status < HTTPStatus.BAD_REQUEST
                          or (status < HTTPStatus.INTERNAL_SERVER_ERROR and g.get(_KEEP))):
            commit()
        else:  # nothing to keep (a verification only reads: no COMMIT either), or an error answer
            db.session.rollback()
        return response

    bounded.__wrapped_by_transaction__ = True  # type: ignore[attr-defined]
    return bounded


def init_app(app: Flask) -> None:
    """Wrap every registered view; call after the last blueprint is registered."""
    for endpoint, view in list(app.view_functions.items()):
        if not getattr(view, "__wrapped_by_transaction__", False):
            app.view_functions[endpoint] = in_transaction(view, app)
