"""Bulk issuance from a CSV of past completions: check every row first, then issue the good ones.

Columns (header required): ``therapist_email, level, completion_date, supervisor_email``.
Each row is its own issuance (completion, credential, status entries, audit
event); a row already issued is reported as such, so uploading the same file
again issues nothing twice. The rows are issued in the background, one per
transaction, by ``issuer worker`` (``issuer.issuance.jobs``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from issuer.accounts import assignments, directory
from issuer.errors import InvalidInput, IssuerError
from issuer.frameworks import catalogue
from issuer.issuance import completion
from issuer.learning import record_book
from issuer.models import Credential, Level, Role, User, utcnow
from issuer.platform.database import SessionLike

COLUMNS = ("therapist_email", "level", "completion_date", "supervisor_email")
MAX_ROWS = 5000


@dataclass
class Row:
    line: int
    therapist_email: str
    level: str
    completion_date: str
    supervisor_email: str
    status: str = "pending"  # ok | error | already issued | issued
    message: str = ""
    credential_id: str | None = None
    _ids: tuple[int, int, int] | None = field(default=None, repr=False)


def parse(text: str) -> list[Row]:
    """:raise InvalidInput: not CSV, wrong header, or too many rows."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if tuple(header) != COLUMNS:
        raise InvalidInput(
            f"the first line must be the header {','.join(COLUMNS)} (found {','.join(header) or 'nothing'})")
    reader.fieldnames = list(COLUMNS)
    rows: list[Row] = []
    for record in reader:
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per file")
        values = [(record.get(k) or "").strip() for k in COLUMNS]
        if not any(values):
            continue
        therapist_email, level, completion_date, supervisor_email = values  # in the order of COLUMNS
        rows.append(Row(line=reader.line_num, therapist_email=therapist_email, level=level,
                        completion_date=completion_date, supervisor_email=supervisor_email))
    if not rows:
        raise InvalidInput("the file has no rows")
    return rows


def check(session: SessionLike, rows: list[Row]) -> list[Row]:
    """The dry run: each row marked ok, error (with the reason) or already issued. Writes nothing."""
    framework = catalogue.find_framework(session)
    today = utcnow().date()
    for row in rows:
        try:
            therapist = directory.get_user_by_email(session, row.therapist_email)
            supervisor = directory.get_user_by_email(session, row.supervisor_email)
            if therapist.role is not Role.THERAPIST or not therapist.active:
                raise InvalidInput(f"{row.therapist_email} is not an active therapist")
            assignments.require_assignment(session, supervisor=supervisor, therapist=therapist)
            wanted = row.level.lower()
            level = next((lv for lv in framework.levels if wanted in (lv.key, lv.label.lower())), None)
            if level is None:
                raise InvalidInput(f"no level {row.level!r} (levels: {', '.join(lv.label for lv in framework.levels)})")
            try:
                date = dt.date.fromisoformat(row.completion_date)
            except ValueError:
                raise InvalidInput(f"completion_date {row.completion_date!r} is not a date like 2026-11-28") from None
            if date > today:
                raise InvalidInput("completion_date is in the future")
        except IssuerError as error:
            row.status, row.message = "error", error.message
            continue
        existing = session.scalars(select(Credential).filter_by(therapist_id=therapist.id, level_id=level.id)).first()
        if existing is not None:
            row.status, row.message, row.credential_id = "already issued", "issued before; skipped", str(existing.id)
            continue
        duplicate = next((r for r in rows if r is not row and r._ids == (therapist.id, level.id, supervisor.id)), None)
        if duplicate is not None and duplicate.line < row.line:
            row.status, row.message = "error", f"same therapist and level as line {duplicate.line}"
            continue
        row.status, row.message, row._ids = "ok", f"{level.label} for {therapist.name}", (therapist.id, level.id,
                                                                                          supervisor.id)
    return rows


#: The dry run's outcomes, in the order the summary tells them, with their words.
OUTCOMES = (("ok", "ready to issue"), ("already issued", "issued before (will be skipped)"), ("error", "with errors"))


def summary(rows: list[Row]) -> dict[str, int]:
    """How many rows have each outcome, every outcome present (zero when none), and ``total``.

    Every row is counted exactly once: an outcome this module does not know (a row never checked) is counted
    under its own name rather than left out.
    """
    tally = {status: 0 for status, _ in OUTCOMES}
    for row in rows:
        tally[row.status] = tally.get(row.status, 0) + 1
    tally["total"] = len(rows)
    return tally


def issue_row(session: SessionLike, row: Row) -> None:
    """Issue one checked row: record its statements as met on the completion date, then complete. Flushes only."""
    if row._ids is None:
        raise ValueError(f"line {row.line} has not been found ok by check()")
    # The rows check() found: get_one raises if one is gone (accounts and levels are never deleted).
    therapist, level, supervisor = (session.get_one(User, row._ids[0]), session.get_one(Level, row._ids[1]),
                                    session.get_one(User, row._ids[2]))
    observed = dt.date.fromisoformat(row.completion_date)
    met = record_book.met_statements(session, therapist)
    for statement in level.statements:
        if statement.id not in met:
            record_book.mark_statement(session, supervisor=supervisor, therapist=therapist, statement=statement,
                                   observed_on=observed, note="Recorded by bulk import of past completions.")
    awarded = dt.datetime.combine(observed, dt.time(), tzinfo=dt.UTC)
    credential = completion.complete_level(session, supervisor=supervisor, therapist=therapist, level=level,
                                         awarded=awarded)
    row.status, row.credential_id = "issued", str(credential.id)
