"""Bulk issuance as a background job: the upload stores its rows, ``issuer worker`` issues them one by one.

A confirmed upload becomes a ``BulkJob`` with one ``BulkJobRow`` per line: rows the dry run found good are
``pending``; rows issued before are ``skipped`` and rows with errors ``failed`` at once. The worker takes one
pending row per transaction (``claim_row``: an ``UPDATE … WHERE state = 'pending' … RETURNING`` whose row is
picked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the transaction holds the write lock from its
``BEGIN IMMEDIATE``), checks it again, issues it and records the outcome in that same transaction. A worker
that dies mid-row loses that row's transaction only, so the row is pending again for the next worker. Never
issuing twice rests on ``complete_level``'s unique constraint: a level completed meanwhile makes the row
``skipped`` with the existing credential's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import exists, func, select, update

from issuer.errors import IssuerError
from issuer.issuance import bulk
from issuer.issuance.completion import AlreadyIssued
from issuer.models import BulkJob, BulkJobRow, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

PENDING, ISSUED, SKIPPED, FAILED = "pending", "issued", "skipped", "failed"
RUNNING, FINISHED = "running", "finished"
#: Column widths of the stored input (a field longer than this failed the dry run already; it is kept cut).
_WIDTHS = {"therapist_email": 320, "level": 200, "completion_date": 40, "supervisor_email": 320}
_MESSAGE_WIDTH = 1000


def create_job(session: SessionLike, actor: User, rows: list[bulk.Row]) -> BulkJob:
    """Store the checked rows as a job (audited ``bulk.started``). Issues nothing. Flushes only."""
    job = BulkJob(created_at=utcnow(), created_by_id=actor.id, state=RUNNING)
    session.add(job)
    session.flush()
    states = {"ok": PENDING, "already issued": SKIPPED}
    for row in rows:
        state = states.get(row.status, FAILED)
        session.add(BulkJobRow(
            job_id=job.id, line=row.line, state=state,
            message="" if state == PENDING else row.message[:_MESSAGE_WIDTH],
            credential_id=uuid.UUID(row.credential_id) if row.credential_id else None,
            done_at=None if state == PENDING else utcnow(),
            **{name: getattr(row, name)[:width] for name, width in _WIDTHS.items()}))
    session.flush()
    audit.record(session, "bulk.started", actor=actor, subject_type="bulk_job", subject_id=job.id,
                 rows=len(rows), pending=sum(r.status == "ok" for r in rows))
    finish_if_done(session, job.id)
    return job


def claim_row(session: SessionLike) -> BulkJobRow | None:
    """Take the oldest pending row for this transaction, or None when none is left."""
    oldest = (select(BulkJobRow.id).where(BulkJobRow.state == PENDING).order_by(BulkJobRow.id).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())
    claimed = session.execute(
        update(BulkJobRow).where(BulkJobRow.id == oldest, BulkJobRow.state == PENDING)
        .values(state=RUNNING).returning(BulkJobRow.id)).scalar_one_or_none()
    if claimed is None:
        return None
    row = session.get_one(BulkJobRow, claimed)
    session.refresh(row)
    return row


def process_row(session: SessionLike, job_row: BulkJobRow) -> None:
    """Check the claimed row again and issue it; record issued, skipped or failed. Flushes only.

    An ``IssuerError`` is the row's outcome (its work undone alone); anything else propagates, and the caller's
    rollback returns the row to pending.
    """
    row = bulk.Row(line=job_row.line, therapist_email=job_row.therapist_email, level=job_row.level,
                   completion_date=job_row.completion_date, supervisor_email=job_row.supervisor_email)
    bulk.check(session, [row])
    if row.status == "ok":
        try:
            with session.begin_nested():
                bulk.issue_row(session, row)
        except AlreadyIssued as error:
            row.status, row.message = "already issued", "issued before; skipped"
            row.credential_id = str(error.credential_id) if error.credential_id else None
        except IssuerError as error:
            row.status, row.message = "error", error.message
    job_row.state = {"issued": ISSUED, "already issued": SKIPPED}.get(row.status, FAILED)
    job_row.message = row.message[:_MESSAGE_WIDTH] if job_row.state != ISSUED else ""
    job_row.credential_id = uuid.UUID(row.credential_id) if row.credential_id else None
    job_row.done_at = utcnow()
    session.flush()


#: Every state a row can be in: a row being issued by a worker right now is ``running``.
ROW_STATES = (ISSUED, SKIPPED, FAILED, RUNNING, PENDING)


def counts(session: SessionLike, job_id: int) -> dict[str, int]:
    """Rows of the job by state (every state present, zero when none), and ``total``: every row, counted once."""
    found: dict[str, int] = dict(session.execute(
        select(BulkJobRow.state, func.count()).where(BulkJobRow.job_id == job_id).group_by(BulkJobRow.state)).all())
    tally = {state: found.get(state, 0) for state in ROW_STATES}
    for state, number in found.items():  # a state this module does not know is still counted, under its name
        tally.setdefault(state, number)
    tally["total"] = sum(found.values())
    return tally


def finish_if_done(session: SessionLike, job_id: int) -> bool:
    """Mark the job finished (audited ``bulk.finished`` with its counts) once no row is pending. Flushes only.

    A conditional UPDATE on the job's own row: of two workers finishing their last rows at once, only one
    changes it (the other waits for that row on PostgreSQL and then finds it finished).
    """
    waiting = exists().where(BulkJobRow.job_id == job_id, BulkJobRow.state.in_((PENDING, RUNNING)))
    done = session.execute(
        update(BulkJob).where(BulkJob.id == job_id, BulkJob.state == RUNNING, ~waiting)
        .values(state=FINISHED, finished_at=utcnow()).returning(BulkJob.created_by_id)).scalar_one_or_none()
    if done is None:
        return False
    tally = counts(session, job_id)
    audit.record(session, "bulk.finished", actor=session.get_one(User, done), subject_type="bulk_job",
                 subject_id=job_id, issued=tally[ISSUED], skipped=tally[SKIPPED], failed=tally[FAILED])
    return True


def run(session: SessionLike, *, on_row: Callable[[BulkJobRow], None] | None = None) -> int:
    """Process pending rows, one committed transaction each, until none is left; return how many were processed.

    The worker's loop, and its transaction boundary (as a command is its own): it commits after each row and
    rolls back on any error before passing it on. Jobs whose last rows were finished by two workers at once are
    marked finished here, after every row is committed.
    """
    processed = 0
    while True:
        try:
            job_row = claim_row(session)
            if job_row is None:
                session.rollback()
                break
            process_row(session, job_row)
            finish_if_done(session, job_row.job_id)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        processed += 1
        if on_row is not None:
            on_row(job_row)
    try:
        for job_id in session.scalars(select(BulkJob.id).where(BulkJob.state == RUNNING)).all():
            finish_if_done(session, job_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return processed
