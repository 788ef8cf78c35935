"""The learning record: supervisors record statements as met, or undo a mark with a reason.

Every mark is a new row and none is ever changed or deleted, so the record
shows who recorded what, when, and why anything was withdrawn.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, bindparam, func, select

from issuer.accounts.assignments import require_assignment
from issuer.credentials.eddsa_rdfc_2022 import DISPUTED_CHARACTERS
from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.models import Framework, Level, LevelCompletion, Statement, StatementMark, User, utcnow
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


def _checked_observation(observed_on: dt.date, note: str | None) -> str:
    """The note, stripped, once the date and the note are acceptable; each refusal names its form field."""
    today = utcnow().date()
    if observed_on > today:
        raise InvalidInput("the observation date cannot be in the future", field="observed_on")
    if observed_on < today - dt.timedelta(days=365 * 10):
        raise InvalidInput("the observation date is more than ten years ago", field="observed_on")
    try:
        text = signable_text(note, "the note")
    except InvalidInput as error:
        raise InvalidInput(error.message, field="note") from None
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters ({len(text)})", field="note")
    return text


def _checked_evidence_url(evidence_url: str | None) -> str | None:
    if not evidence_url or not evidence_url.strip():
        return None
    try:
        return _check_url(evidence_url)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="evidence_url") from None


@dataclass(frozen=True)
class _StoredEvidence:
    path: Path
    name: str
    filename: str
    mimetype: str


def _store_evidence(evidence_file: EvidenceUpload | None, uploads_dir: Path | None) -> _StoredEvidence | None:
    """Check and write an uploaded evidence file (once, whatever number of marks refer to it)."""
    if evidence_file is None or not evidence_file.data:
        return None
    if uploads_dir is None:
        raise InvalidInput("file uploads are not configured", field="evidence_file")
    try:
        mimetype, suffix = _sniff(evidence_file)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="evidence_file") from None
    uploads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{uuid.uuid4().hex}{suffix}"
    stored = uploads_dir / name
    stored.write_bytes(evidence_file.data)
    return _StoredEvidence(stored, name, Path(evidence_file.filename or "evidence").name[:255], mimetype)


def _new_mark(session: SessionLike, *, supervisor: User, therapist: User, statement: Statement,
              observed_on: dt.date, note: str, evidence_url: str | None,
              evidence: _StoredEvidence | None) -> StatementMark:
    mark = StatementMark(
        therapist_id=therapist.id, statement_id=statement.id, supervisor_id=supervisor.id, kind=MET,
        observed_on=observed_on, note=note, created_at=utcnow(), evidence_url=evidence_url,
    )
    if evidence is not None:
        mark.evidence_file = evidence.name
        mark.evidence_filename = evidence.filename
        mark.evidence_type = evidence.mimetype
    session.add(mark)
    return mark


def _flush_marks(session: SessionLike, evidence: _StoredEvidence | None) -> None:
    try:
        session.flush()
    except Exception:
        if evidence is not None:
            evidence.path.unlink(missing_ok=True)
        raise


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
    note = _checked_observation(observed_on, note)
    url = _checked_evidence_url(evidence_url)
    evidence = _store_evidence(evidence_file, uploads_dir)
    mark = _new_mark(session, supervisor=supervisor, therapist=therapist, statement=statement,
                     observed_on=observed_on, note=note, evidence_url=url, evidence=evidence)
    _flush_marks(session, evidence)
    audit.record(session, "statement.marked", actor=supervisor, subject_type="user", subject_id=therapist.id,
                 statement=str(statement.achievement_id), mark=mark.id)
    return mark


#: How many statements one request may record at once (a level has a dozen at most; this bounds hostile lists).
MAX_STATEMENTS_AT_ONCE = 100


def mark_statements(  # noqa: PLR0913 (one keyword per field of the marks and of their evidence)
    session: SessionLike,
    *,
    supervisor: User,
    therapist: User,
    level: Level,
    statement_ids: Sequence[int],
    observed_on: dt.date,
    note: str = "",
    evidence_url: str | None = None,
    evidence_file: EvidenceUpload | None = None,
    uploads_dir: Path | None = None,
) -> list[StatementMark]:
    """Record several statements of one ``level`` as met, with one date, note and evidence. Flushes only.

    All or nothing: an id that is not a statement of ``level`` (whatever else it names), an id given twice, a
    statement already met or a level already complete refuses the whole list before anything is written.
    The therapist's row is locked first, so two concurrent requests for the same statements take turns: the
    second finds them met and is refused (409), and no statement is marked twice.

    :raise InvalidInput: a field is wrong (``details["field"]`` names it: ``statement_ids``, ``observed_on``,
        ``note``, ``evidence_url`` or ``evidence_file``).
    :raise Conflict: the level is complete, or a statement is already met (``details["statement_ids"]``).
    """
    require_assignment(session, supervisor=supervisor, therapist=therapist)
    if not statement_ids:
        raise InvalidInput("choose at least one statement to record", field="statement_ids")
    if len(statement_ids) > MAX_STATEMENTS_AT_ONCE:
        raise InvalidInput(f"at most {MAX_STATEMENTS_AT_ONCE} statements can be recorded at once",
                           field="statement_ids")
    ids = list(statement_ids)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InvalidInput(f"statement {repeated[0]} is listed more than once", field="statement_ids")
    of_level = {s.id: s for s in level.statements}
    foreign = [i for i in ids if i not in of_level]
    if foreign:
        raise InvalidInput(f"statement {foreign[0]} is not a statement of {level.label}", field="statement_ids")
    note = _checked_observation(observed_on, note)
    url = _checked_evidence_url(evidence_url)

    # Concurrent requests for this therapist wait here for each other (SQLite's writers already take turns).
    session.execute(select(User.id).where(User.id == therapist.id).with_for_update())
    completed = session.scalar(select(LevelCompletion.id).filter_by(therapist_id=therapist.id, level_id=level.id))
    if completed is not None:
        raise Conflict(f"{level.label} is already complete; its credential is issued")
    already = met_statements(session, therapist, ids)
    if already:
        names = ", ".join(of_level[i].name for i in ids if i in already)
        raise Conflict(f"already recorded as met: {names}", statement_ids=sorted(already))

    evidence = _store_evidence(evidence_file, uploads_dir)
    marks = [_new_mark(session, supervisor=supervisor, therapist=therapist, statement=of_level[i],
                       observed_on=observed_on, note=note, evidence_url=url, evidence=evidence) for i in ids]
    _flush_marks(session, evidence)
    for mark in marks:
        audit.record(session, "statement.marked", actor=supervisor, subject_type="user", subject_id=therapist.id,
                     statement=str(of_level[mark.statement_id].achievement_id), mark=mark.id)
    return marks


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
