"""Work that must wait until the transaction it belongs to commits: an e-mail about a credential, for one.

A service that wants something done only if its writes become real calls ``on_commit(session, action)``.
The action runs right after the session's next commit and is dropped by a rollback, so a view or command
that commits once needs to know nothing of it. An action runs once the data is committed: a failure in it
is logged, and can undo nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from issuer.platform.database import SessionLike

log = logging.getLogger(__name__)

#: ``session.info`` key: the actions waiting for this session's commit, each with the savepoint it was queued in.
_PENDING = "issuer.on_commit"


def on_commit(session: SessionLike, action: Callable[[], None]) -> None:
    """Run ``action`` once ``session``'s current transaction commits; never if it rolls back.

    Queued inside a savepoint (``session.begin_nested()``), it is dropped if that savepoint rolls back, and still
    waits for the outer commit if it is released.
    """
    real = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's db.session too
    real.info.setdefault(_PENDING, []).append((real.get_nested_transaction(), action))


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the data is not committed yet
        return
    for _savepoint, action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # the commit is done: nothing may undo it, and the next action still runs
            log.exception("an action after the commit failed")


def _within(transaction: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is boundary:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    boundary = previous_transaction  # the transaction that really rolled back: the savepoint or the outermost one
    while not boundary.nested and boundary.parent is not None:
        boundary = boundary.parent
    if not boundary.nested:
        session.info.pop(_PENDING, None)
        return
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(sp, action) for sp, action in pending if not _within(sp, boundary)]
