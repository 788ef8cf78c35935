"""The learning record: supervisors record statements as met, or undo a mark with a reason.

Every mark is a new row and none is ever changed or deleted, so the record
shows who recorded what, when, and why anything was withdrawn.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, bindparam, func, select

from issuer.accounts.assignments import require_assignment
from issuer.credentials.eddsa_rdfc_2022 import DISPUTED_CHARACTERS
from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.models import Framework, LevelCompletion, Statement, StatementMark, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

MET = "met"
UNDONE = "undone"
MAX_NOTE = 2000
MAX_EVIDENCE_URL = 2000  # the size of the evidence_url column
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
#: Evidence file types we accept, recognised by their first bytes (not by the name the browser sends).
EVIDENCE_TYPES: dict[str, tuple[bytes, str]] = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
}


@dataclass(frozen=True)
class EvidenceUpload:
    filename: str
    data: bytes


#: RFC 3986 (2, 3): a URI is ASCII letters, digits, ``-._~``, the reserved characters and %-escapes, nothing else:
#: no space, no control character, no quote or angle bracket, no unescaped non-ASCII character.
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?")


def _check_url(url: str) -> str:
    """An http(s) URI as RFC 3986 writes it, or a clear refusal (it becomes the evidence's ``id`` in credentials,
    which must be signed: a space or a newline there would break every completion of the level)."""
    url = url.strip()
    if len(url) > MAX_EVIDENCE_URL:
        raise InvalidInput(f"the evidence URL is longer than {MAX_EVIDENCE_URL} characters")
    if _URI_CHARACTERS.fullmatch(url) is None:
        raise InvalidInput("the evidence URL contains a space, a control character or another character a URL "
                           "cannot hold (RFC 3986); percent-encode it or copy the address again")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or _HOST_PORT.fullmatch(parts.netloc.rpartition("@")[2]) is None:
        raise InvalidInput("the evidence URL must be an http(s) address with a host name")
    try:
        parts.port  # noqa: B018 (read for its check: a port past 65535 raises)
    except ValueError:
        raise InvalidInput("the evidence URL has an invalid port") from None
    return url


def check_evidence_url(url: str) -> str:
    """An evidence URL as the learning record accepts it (stripped), or a clear refusal (``InvalidInput``)."""
    return _check_url(url)


def _sniff(upload: EvidenceUpload) -> tuple[str, str]:
    if not upload.data:
        raise InvalidInput("the evidence file is empty")
    if len(upload.data) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(f"the evidence file is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")
    for mimetype, (magic, suffix) in EVIDENCE_TYPES.items():
        if upload.data.startswith(magic):
            return mimetype, suffix
    raise InvalidInput("evidence files must be PDF, PNG or JPEG")


def signable_text(value: str | None, what: str) -> str:
    """``value`` stripped, refused if it holds a control character that could not be signed interoperably.

    Notes and justifications end up in credentials; see ``eddsa_rdfc_2022.DISPUTED_CHARACTERS``.
    """
    text = (value or "").strip()
    found = DISPUTED_CHARACTERS.search(text)
    if found:
        raise InvalidInput(f"{what} contains the control character U+{ord(found.group()):04X}; remove it")
    return text


def mark_statement(  # noqa: PLR0913 (one keyword per field of the mark and of its evidence)
    session: SessionLike,
    *,
    supervisor: User,
    therapist: User,
    statement: Statement,
    observed_on: dt.date,
    note: str = "",
    evidence_url: str | None = None,
    evidence_file: EvidenceUpload | None = None,
    uploads_dir: Path | None = None,
) -> StatementMark:
    """Record that ``therapist`` showed ``statement``. Flushes; the caller commits."""
    require_assignment(session, supervisor=supervisor, therapist=therapist)
    today = utcnow().date()
    if observed_on > today:
        raise InvalidInput("the observation date cannot be in the future")
    if observed_on < today - dt.timedelta(days=365 * 10):
        raise InvalidInput("the observation date is more than ten years ago")
    note = signable_text(note, "the note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    mark = StatementMark(
        therapist_id=therapist.id, statement_id=statement.id, supervisor_id=supervisor.id, kind=MET,
        observed_on=observed_on, note=note, created_at=utcnow(),
        evidence_url=_check_url(evidence_url) if evidence_url and evidence_url.strip() else None,
    )
    stored: Path | None = None
    if evidence_file is not None and evidence_file.data:
        if uploads_dir is None:
            raise InvalidInput("file uploads are not configured")
        mimetype, suffix = _sniff(evidence_file)
        uploads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{uuid.uuid4().hex}{suffix}"
        stored = uploads_dir / name
        stored.write_bytes(evidence_file.data)
        mark.evidence_file = name
        mark.evidence_filename = Path(evidence_file.filename or "evidence").name[:255]
        mark.evidence_type = mimetype
    try:
        session.add(mark)
        session.flush()
    except Exception:
        if stored is not None:
            stored.unlink(missing_ok=True)
        raise
    audit.record(session, "statement.marked", actor=supervisor, subject_type="user", subject_id=therapist.id,
                 statement=str(statement.achievement_id), mark=mark.id)
    return mark


def _latest_marks_of(*statements: ColumnElement[bool]) -> Select[StatementMark]:
    newest = select(func.max(StatementMark.id)).where(StatementMark.therapist_id == bindparam("therapist_id"),
                                                      *statements)
    return select(StatementMark).where(StatementMark.id.in_(newest.group_by(StatementMark.statement_id)))


# Built once (see ``issuance._ISSUED``): every issuance and every record page reads the latest marks.
_LATEST_MARKS = _latest_marks_of()
_LATEST_MARKS_OF = _latest_marks_of(StatementMark.statement_id.in_(bindparam("statement_ids", expanding=True)))


def latest_marks(session: SessionLike, therapist: User,
                 statement_ids: Collection[int] | None = None) -> dict[int, StatementMark]:
    """The latest mark of each statement the therapist has a mark for (of ``statement_ids`` only, if given)."""
    if statement_ids is None:
        marks = session.scalars(_LATEST_MARKS, {"therapist_id": therapist.id})
    else:
        marks = session.scalars(_LATEST_MARKS_OF, {"therapist_id": therapist.id, "statement_ids": list(statement_ids)})
    return {m.statement_id: m for m in marks}


def met_statements(session: SessionLike, therapist: User,
                   statement_ids: Collection[int] | None = None) -> dict[int, StatementMark]:
    """Statements whose latest mark is ``met``, with that mark (of ``statement_ids`` only, if given)."""
    return {sid: m for sid, m in latest_marks(session, therapist, statement_ids).items() if m.kind == MET}


def undo_mark(session: SessionLike, *, supervisor: User, therapist: User, mark_id: int, reason: str) -> StatementMark:
    """Withdraw a ``met`` mark with a reason, as a new record. Flushes; the caller commits."""
    require_assignment(session, supervisor=supervisor, therapist=therapist)
    reason = signable_text(reason, "the reason")
    if not reason:
        raise InvalidInput("say why the mark is withdrawn")
    if len(reason) > MAX_NOTE:
        raise InvalidInput(f"the reason is longer than {MAX_NOTE} characters")
    mark = session.get(StatementMark, mark_id)
    if mark is None or mark.therapist_id != therapist.id:
        raise NotFound("no such mark in this therapist's record")
    latest = latest_marks(session, therapist).get(mark.statement_id)
    if mark.kind != MET or latest is None or latest.id != mark.id:
        raise Conflict("only the current 'met' mark of a statement can be withdrawn")
    completed = session.scalars(
        select(LevelCompletion).filter_by(therapist_id=therapist.id, level_id=mark.statement.level_id)
    ).first()
    if completed is not None:
        raise Conflict("this level is already complete and its credential issued; revoke the credential instead")
    undo = StatementMark(
        therapist_id=therapist.id, statement_id=mark.statement_id, supervisor_id=supervisor.id, kind=UNDONE,
        observed_on=None, note="", reason=reason, undoes_id=mark.id, created_at=utcnow(),
    )
    session.add(undo)
    session.flush()
    audit.record(session, "statement.undone", actor=supervisor, subject_type="user", subject_id=therapist.id,
                 mark=mark.id, reason=reason)
    return undo


def record_of(session: SessionLike, therapist: User) -> list[StatementMark]:
    """The whole learning record, newest first."""
    return list(session.scalars(
        select(StatementMark).where(StatementMark.therapist_id == therapist.id).order_by(StatementMark.id.desc())
    ))


@dataclass(frozen=True)
class LevelProgress:
    level_id: int
    label: str
    met: int
    total: int
    completed: bool


def progress(session: SessionLike, therapist: User, framework: Framework) -> list[LevelProgress]:
    met = met_statements(session, therapist)
    done = set(session.scalars(select(LevelCompletion.level_id).filter_by(therapist_id=therapist.id)))
    return [
        LevelProgress(level.id, level.label, sum(1 for s in level.statements if s.id in met),
                      len(level.statements), level.id in done)
        for level in framework.levels
    ]
