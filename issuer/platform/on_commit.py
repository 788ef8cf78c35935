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
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: ``session.info`` key: the actions waiting for this session's commit.
_PENDING = "issuer.on_commit"


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once ``session``'s current transaction commits; never if it rolls back."""
    session.info.setdefault(_PENDING, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # the commit is done: nothing may undo it, and the next action still runs
            log.exception("an action after the commit failed")


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
