"""Which supervisor looks after which therapist: assigning, unassigning, and the checks every supervisor action
makes."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select

from issuer.errors import InvalidInput, PermissionDenied
from issuer.models import Assignment, Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike, transaction_of


def assign(session: SessionLike, *, supervisor: User, therapist: User, actor: User | None = None) -> Assignment:
    if supervisor.role is not Role.SUPERVISOR:
        raise InvalidInput(f"{supervisor.email} is not a supervisor")
    if therapist.role is not Role.THERAPIST:
        raise InvalidInput(f"{therapist.email} is not a therapist")
    existing = session.scalars(
        select(Assignment).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id)
    ).one_or_none()
    if existing is not None:
        return existing
    assignment = Assignment(supervisor_id=supervisor.id, therapist_id=therapist.id, created_at=utcnow())
    session.add(assignment)
    session.flush()
    audit.record(session, "assignment.created", actor=actor, subject_type="user", subject_id=therapist.id,
                 supervisor=supervisor.email, therapist=therapist.email)
    return assignment


def unassign(session: SessionLike, *, supervisor: User, therapist: User, actor: User) -> None:
    session.info.pop(_ASSIGNED, None)
    session.execute(delete(Assignment).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id))
    audit.record(session, "assignment.removed", actor=actor, subject_type="user", subject_id=therapist.id,
                 supervisor=supervisor.email, therapist=therapist.email)


#: ``session.info`` key: the (supervisor id, therapist id) pairs found assigned in the current transaction, so
#: that one request asks the database once when both the view and the service check. Tied to the transaction
#: object: after a commit or rollback the pairs are asked again.
_ASSIGNED = "issuer.assigned"


def is_assigned(session: SessionLike, *, supervisor: User, therapist: User) -> bool:
    pair = (supervisor.id, therapist.id)
    transaction, known = session.info.get(_ASSIGNED, (None, set()))
    if transaction is not None and transaction is transaction_of(session) and pair in known:
        return True
    assigned = session.scalar(
        select(Assignment.id).filter_by(supervisor_id=supervisor.id, therapist_id=therapist.id).limit(1)
    ) is not None
    if assigned:
        _remember_assigned(session, pair)
    return assigned


def _remember_assigned(session: SessionLike, pair: tuple[int, int]) -> None:
    """Note ``pair`` as assigned for the rest of the current transaction (see ``_ASSIGNED``)."""
    transaction, known = session.info.get(_ASSIGNED, (None, set()))
    current = transaction_of(session)
    known = known if transaction is current else set()
    known.add(pair)
    session.info[_ASSIGNED] = (current, known)


_ASSIGNED_THERAPIST = (
    select(User).join(Assignment, Assignment.therapist_id == User.id)
    .where(User.id == bindparam("therapist_id"), Assignment.supervisor_id == bindparam("supervisor_id"))
)


def assigned_therapist(session: SessionLike, *, supervisor: User, therapist_id: int) -> User | None:
    """The therapist with ``therapist_id`` if ``supervisor`` is assigned to them, in one query (remembered
    for the transaction like ``is_assigned``)."""
    therapist = session.scalar(_ASSIGNED_THERAPIST, {"therapist_id": therapist_id, "supervisor_id": supervisor.id})
    if therapist is not None:
        _remember_assigned(session, (supervisor.id, therapist.id))
    return therapist


def require_assignment(session: SessionLike, *, supervisor: User, therapist: User) -> None:
    """:raise PermissionDenied: ``supervisor`` is not an active supervisor assigned to ``therapist``."""
    if supervisor.role is not Role.SUPERVISOR or not supervisor.active:
        raise PermissionDenied("only an assigned supervisor can do this")
    if not is_assigned(session, supervisor=supervisor, therapist=therapist):
        raise PermissionDenied(f"{supervisor.email} is not assigned to this therapist")


def assigned_therapists(session: SessionLike, supervisor: User) -> list[User]:
    return list(session.scalars(
        select(User).join(Assignment, Assignment.therapist_id == User.id)
        .where(Assignment.supervisor_id == supervisor.id).order_by(User.name)
    ))


def supervisors_of(session: SessionLike, therapist: User) -> list[User]:
    return list(session.scalars(
        select(User).join(Assignment, Assignment.supervisor_id == User.id)
        .where(Assignment.therapist_id == therapist.id).order_by(User.name)
    ))
