"""Supervisors' qualifications: the professional credential (e.g. MT-BC) and its number, recorded by an
administrator, and how the evidence of what a supervisor attests names them.

A qualification counts on a day when it is not withdrawn and its ``valid_until`` (if any) is not before that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select, update

from issuer.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from issuer.learning.record_book import signable_text
from issuer.models import Role, SupervisorQualification, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

MAX_NAME = 100
MAX_BODY = 200


def _field(value: str | None, what: str, limit: int) -> str:
    text = " ".join(signable_text(value, what).split())
    if not text:
        raise InvalidInput(f"give {what}")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def record(
    session: SessionLike,
    *,
    actor: User,
    supervisor: User,
    credential_name: str,
    number: str,
    issuing_body: str,
    valid_until: dt.date | None,
) -> SupervisorQualification:
    """Record a supervisor's qualification. Flushes; the caller commits.

    :raise PermissionDenied: ``actor`` is not an administrator. :raise InvalidInput: what is wrong, in words.
    """
    if actor.role is not Role.ADMIN or not actor.active:
        raise PermissionDenied("only an administrator records supervisors' qualifications")
    if supervisor.role is not Role.SUPERVISOR:
        raise InvalidInput(f"{supervisor.email} is not a supervisor")
    now = utcnow()
    if valid_until is not None and valid_until < now.date():
        raise InvalidInput("that qualification has already lapsed (its valid-until date is in the past)")
    row = SupervisorQualification(
        supervisor_id=supervisor.id, credential_name=_field(credential_name, "the credential's name", MAX_NAME),
        number=_field(number, "the credential's number", MAX_NAME),
        issuing_body=_field(issuing_body, "the issuing body", MAX_BODY), valid_until=valid_until,
        recorded_by_id=actor.id, created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, "qualification.recorded", actor=actor, subject_type="user", subject_id=supervisor.id,
                 qualification=row.id, credential=row.credential_name, number=row.number)
    return row


def withdraw(session: SessionLike, *, actor: User, qualification_id: int) -> SupervisorQualification:
    """Withdraw a qualification recorded in error or no longer held. Flushes; the caller commits."""
    if actor.role is not Role.ADMIN or not actor.active:
        raise PermissionDenied("only an administrator withdraws supervisors' qualifications")
    row = session.get(SupervisorQualification, qualification_id)
    if row is None:
        raise NotFound("no such qualification")
    # Only from "not withdrawn", in one statement: of concurrent withdrawals one changes the row, the others 409.
    changed = session.scalar(
        update(SupervisorQualification).where(SupervisorQualification.id == row.id,
                                              SupervisorQualification.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow()).returning(SupervisorQualification.id)
        .execution_options(synchronize_session=False))
    session.refresh(row)
    if changed is None:
        raise Conflict("this qualification is already withdrawn")
    audit.record(session, "qualification.withdrawn", actor=actor, subject_type="user", subject_id=row.supervisor_id,
                 qualification=row.id)
    return row


def all_of(session: SessionLike, supervisor_ids: Collection[int]) -> dict[int, list[SupervisorQualification]]:
    """Every qualification not withdrawn of each supervisor (empty lists included), oldest first."""
    found: dict[int, list[SupervisorQualification]] = {sid: [] for sid in supervisor_ids}
    if supervisor_ids:
        for row in session.scalars(
            select(SupervisorQualification).where(SupervisorQualification.supervisor_id.in_(list(supervisor_ids)),
                                                  SupervisorQualification.withdrawn_at.is_(None))
            .order_by(SupervisorQualification.id)
        ):
            found[row.supervisor_id].append(row)
    return found


def held_on(qualifications: Collection[SupervisorQualification], day: dt.date) -> list[SupervisorQualification]:
    return [q for q in qualifications if q.withdrawn_at is None and (q.valid_until is None or q.valid_until >= day)]


def attestation(name: str, qualifications: Collection[SupervisorQualification], day: dt.date) -> str:
    """How evidence names an attesting supervisor on ``day``: ``Sam Supervisor (clinical supervisor; MT-BC no. 1
    (Certification Board for Music Therapists, valid until 2030-01-31))``; ``Sam Supervisor (clinical supervisor)``
    when none is on record for that day."""
    held = held_on(qualifications, day)
    return f"{name} (clinical supervisor; {'; '.join(q.describe() for q in held)})" if held else \
        f"{name} (clinical supervisor)"
