"""Completing a level and issuing its credential, in one transaction: the one issuance service.

Every way of issuing (the supervisor's page, the API, the command line, a bulk upload) calls
``complete_level``. The completion row, the signed credential, its status-list entries and the
audit event are flushed together; the caller's single commit makes them real, and the notice to
the therapist goes once that commit is done (``issuance.notices``).
If anything fails (signing, a key file, the database) the caller's session is
rolled back and nothing of it remains. "Never twice" is enforced by unique
constraints on (therapist, level), not only by the check in Python.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text

from issuer.accounts.assignments import require_assignment
from issuer.credentials.digest import document_digest
from issuer.errors import Conflict, InvalidInput, IssuerError
from issuer.frameworks import achievements
from issuer.identity.profile import base_url, issuer_profile
from issuer.issuance import notices, signing
from issuer.learning import record_book
from issuer.models import Credential, Level, LevelCompletion, Role, SupervisorQualification, User, utcnow
from issuer.platform import audit
from issuer.platform.cache import LRUCache, app_cache
from issuer.platform.database import SessionLike, insert_or_ignore
from issuer.platform.settings import override_allowed
from issuer.recertification import hours, policy, qualifications
from issuer.status_lists import lists as status_lists

#: How far the application clock may drift from the database's before issuing stops.
MAX_CLOCK_DRIFT = dt.timedelta(minutes=1)


class AlreadyIssued(Conflict):
    code = "already_issued"

    def __init__(self, credential_id: uuid.UUID | None, level: Level) -> None:
        where = f" It is at /credentials/{credential_id}." if credential_id else ""
        super().__init__(f"{level.label} is already complete for this therapist and its credential was issued.{where}",
                         credential_id=str(credential_id) if credential_id else None)
        self.credential_id = credential_id


class ClockDrift(IssuerError):
    status_code = 503
    code = "clock_drift"


def credential_url(credential_id: uuid.UUID) -> str:
    return f"{base_url()}/credentials/{credential_id}"


#: How long a measured offset between the database clock and ours is trusted before it is measured again.
CLOCK_CHECK_SECONDS = 5.0
def _clock_offsets() -> LRUCache[str, tuple[float, dt.timedelta]]:
    """Per app, by database: (monotonic time of the measurement, database clock minus application clock)."""
    return app_cache("issuance.clock_offsets", 8)


def database_now(session: SessionLike) -> dt.datetime | None:
    """The database's clock, asked once every few seconds per app (clocks drift slowly, not per request)."""
    offsets = _clock_offsets()
    bind = str(session.get_bind().engine.url)  # password hidden
    measured = offsets.get(bind)
    if measured is not None and time.monotonic() - measured[0] < CLOCK_CHECK_SECONDS:
        return utcnow() + measured[1]
    db_now: dt.datetime | None
    if session.get_bind().dialect.name == "postgresql":
        db_now = session.scalar(text("SELECT statement_timestamp()"))
    else:
        sqlite_now = session.scalar(text("SELECT strftime('%Y-%m-%dT%H:%M:%S', 'now')"))
        db_now = dt.datetime.fromisoformat(sqlite_now + "+00:00")
    if db_now is not None:
        offsets.put(bind, (time.monotonic(), db_now - utcnow()))
    return db_now


def check_clock(session: SessionLike, now: dt.datetime) -> None:
    """Refuse to issue when the app's clock and the database's disagree by more than a minute.

    A credential's dates are claims anyone can check later; a wrong clock would sign wrong ones.
    """
    db_now = database_now(session)
    if db_now is None or abs(db_now - now) > MAX_CLOCK_DRIFT:
        raise ClockDrift(f"the application clock ({now.isoformat()}) and the database clock ({db_now}) disagree; "
                         "issuing is paused until they agree")


@dataclass(frozen=True)
class LevelParts:
    """What every credential of a level shares: its Achievement and the names it is built from."""

    achievement: dict[str, Any]
    statements: tuple[tuple[int, str], ...]  # (statement id, name) in framework order
    label: str
    framework_title: str
    framework_name: str
    framework_version: str


#: Frameworks are immutable once imported (a changed text must come as a new version), and the issuer Profile is
#: the app's configuration, so a level's Achievement is built once per app and process (``issuer.platform.cache``).
#: How many of the statements not yet met a refused completion names (the rest are an ellipsis).
MISSING_NAMES_SHOWN = 3
LEVEL_PARTS_CACHE_SIZE = 256
#: What one entry counts for (an Achievement of a dozen alignments is ~10 KB); count-bounded, so no byte bound.
LEVEL_PARTS_SIZE = 16 * 1024


def level_parts(level: Level, profile: dict[str, Any]) -> LevelParts:
    cache: LRUCache[int, LevelParts] = app_cache("issuance.level_parts", LEVEL_PARTS_CACHE_SIZE,
                                                 default_size=LEVEL_PARTS_SIZE)
    parts = cache.get(level.id)
    if parts is None:
        framework = level.framework
        parts = LevelParts(
            achievement=achievements.level_achievement(level, base_url=base_url(), creator=profile),
            statements=tuple((s.id, s.name) for s in level.statements),
            label=level.label, framework_title=framework.title, framework_name=framework.name,
            framework_version=framework.version,
        )
        cache.put(level.id, parts)
    return parts


def evidence_for(parts: LevelParts, marks: dict[int, Any], supervisor: User, justification: str | None,
                 held: dict[int, list[SupervisorQualification]] | None = None) -> list[dict[str, Any]]:
    """One Evidence per statement met: what, when observed, and who attested it with their qualification on that
    day (``held``: each supervisor's qualifications, ``recertification.qualifications.all_of``)."""
    held = held or {}
    evidence = []
    for statement_id, statement_name in parts.statements:
        mark = marks.get(statement_id)
        if mark is None:
            continue
        attested = qualifications.attestation(mark.supervisor.name, held.get(mark.supervisor_id, []), mark.observed_on)
        item: dict[str, Any] = {
            "type": ["Evidence"],
            "name": statement_name,
            "description": f"Observed on {mark.observed_on.isoformat()}; attested by {attested}.",
            "genre": "Supervisor observation",
            "audience": "Employers and credentialing bodies",
        }
        if mark.note:
            item["narrative"] = mark.note
        if mark.evidence_url:
            item["id"] = mark.evidence_url
        evidence.append(item)
    if justification:
        evidence.append({
            "type": ["Evidence"],
            "name": "Completed by supervisor override",
            "description": f"{supervisor.name} completed this level before every statement was recorded as met.",
            "narrative": justification,
            "genre": "Supervisor override justification",
        })
    return evidence


#: The credential of a (therapist, level), if issued. The statements of the issuance path are built once, like
#: this one: SQLAlchemy then neither builds them nor derives their cache key again on each call.
_ISSUED = select(Credential.id).where(
    Credential.therapist_id == bindparam("therapist_id"), Credential.level_id == bindparam("level_id"),
    Credential.superseded_at.is_(None),  # the current one: a renewal or re-issue supersedes, keeping the old row
)


def complete_level(
    session: SessionLike,
    *,
    supervisor: User,
    therapist: User,
    level: Level,
    justification: str | None = None,
    now: dt.datetime | None = None,
    awarded: dt.datetime | None = None,
) -> Credential:
    """Mark ``level`` complete for ``therapist`` and issue its signed credential. Flushes only.

    :raise PermissionDenied: the supervisor is not assigned to the therapist.
    :raise InvalidInput: statements are missing and no override applies.
    :raise AlreadyIssued: the level was completed before (also when a concurrent request won the race).
    """
    require_assignment(session, supervisor=supervisor, therapist=therapist)
    if therapist.role is not Role.THERAPIST or not therapist.active:
        raise InvalidInput("credentials are issued to active therapist accounts only")
    now = now or utcnow()
    check_clock(session, now)

    profile = issuer_profile()
    parts = level_parts(level, profile)
    met = record_book.met_statements(session, therapist, [statement_id for statement_id, _name in parts.statements])
    missing = [name for statement_id, name in parts.statements if statement_id not in met]
    if missing:
        # "Already issued" comes first, whatever the record says now. With every statement met, the completion
        # claim below tells it without a query of its own.
        existing = session.scalar(_ISSUED, {"therapist_id": therapist.id, "level_id": level.id})
        if existing is not None:
            raise AlreadyIssued(existing, level)
        if not justification:
            names = ", ".join(missing[:MISSING_NAMES_SHOWN]) + ("…" if len(missing) > MISSING_NAMES_SHOWN else "")
            raise InvalidInput(f"{len(missing)} statement(s) of {level.label} are not yet met ({names})")
        if not override_allowed(session):
            raise InvalidInput("completing a level by override is not enabled by the administrator")
    justification = (record_book.signable_text(justification, "the justification") or None) if missing else None
    terms = policy.policy_for(session, level)
    required_minutes = terms.min_supervised_minutes
    logged_total = hours.summary(session, therapist.id)
    logged = logged_total.minutes
    if required_minutes is not None and logged < required_minutes:
        existing = session.scalar(_ISSUED, {"therapist_id": therapist.id, "level_id": level.id})
        if existing is not None:
            raise AlreadyIssued(existing, level)
        raise InvalidInput(f"{level.label} requires {hours.format_hours(required_minutes)} hours of supervised "
                           f"clinical work; {hours.format_hours(logged)} are logged "
                           f"({hours.format_hours(required_minutes - logged)} to go)")

    # The unique (therapist, level) constraint decides, also between concurrent requests: the insert of a level
    # already complete does nothing (after waiting for a winner still to commit) and the answer is 409, the
    # transaction still usable.
    completion_id = session.scalar(
        insert_or_ignore(session, LevelCompletion).values(
            therapist_id=therapist.id, level_id=level.id, supervisor_id=supervisor.id, completed_at=now,
            override_justification=justification,
        ).returning(LevelCompletion.id)
    )
    if completion_id is None:
        winner = session.scalar(_ISSUED, {"therapist_id": therapist.id, "level_id": level.id})
        raise AlreadyIssued(winner, level)

    # The level's validity policy (issuer.recertification.policy): validUntil is validFrom plus its calendar months.
    valid_until = policy.valid_until_for(terms, now)
    credential_id = uuid.uuid4()
    held = qualifications.all_of(session, {supervisor.id, *(mark.supervisor_id for mark in met.values())})
    evidence = evidence_for(parts, met, supervisor, justification, held)
    achievement, results = parts.achievement, None
    activity: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
    claim = hours.hours_claim(session, therapist.id, achievement_id=parts.achievement["id"],
                              required_minutes=required_minutes, total=logged_total)
    if claim is not None:
        achievement = {**parts.achievement, "resultDescription": [claim.result_description]}
        results, activity = [claim.result], (claim.activity_start, claim.activity_end)
        evidence.append(claim.evidence)
    credential = sign_and_record(
        session, credential_id=credential_id, therapist=therapist, level=level, completion_id=completion_id,
        issued_by=supervisor, valid_from=now, valid_until=valid_until, now=now,
        build=lambda status: signing.build_achievement_credential(
            credential_id=credential_url(credential_id),
            issuer=profile,
            achievement=achievement,
            recipient_email=therapist.email,
            salt=therapist.recipient_salt,
            recipient_did=None,  # the profile's DID is not proved: the subject is the stable urn:uuid
            subject_id=therapist.subject_urn,
            name=f"{parts.framework_title}: {parts.label}",
            description=f"{therapist.name} has shown every competency of the {parts.label} level of the "
                        f"{parts.framework_name} {parts.framework_version}.",
            valid_from=now,
            valid_until=valid_until,
            evidence=evidence,
            results=results,
            activity_start_date=activity[0],
            activity_end_date=activity[1],
            credential_status=status,
            awarded_date=awarded or now,
        ),
    )
    audit.record(session, "credential.issued", actor=supervisor, subject_type="credential", subject_id=credential_id,
                 therapist=therapist.email, level=level.label, override=bool(justification))
    session.flush()  # both rows in one flush
    notices.notify_issued(session, credential)
    return credential


def sign_and_record(  # noqa: PLR0913 (one keyword per column of the credential row it adds)
    session: SessionLike,
    *,
    credential_id: uuid.UUID,
    build: Callable[[list[dict[str, Any]]], dict[str, Any]],
    therapist: User,
    level: Level,
    completion_id: int,
    issued_by: User,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None,
    now: dt.datetime,
    recipient_name: str | None = None,
    public: bool = True,
    replaces: Credential | None = None,
) -> Credential:
    """Sign a new credential and add its row: what a first issuance and a re-issuance share.

    Reserves its status-list entries, hands ``build`` the credentialStatus to embed and signs what it returns (Data
    Integrity proof, schema check, VC-JWT) with the current keys. The caller audits, flushes (the row and its
    audit event in one flush) and notifies.
    """
    entries = status_lists.allocate(session, credential_id=credential_id, now=now)
    # OB 3.0 allows one credentialStatus ([0..1]; the 1EdTech schema requires an object): the revocation entry.
    # The suspension index is reserved too; this service's verifier reads it from the database.
    unsigned = build([e for e in entries if e["statusPurpose"] == "revocation"])
    signed = signing.sign(session, unsigned, now=now)
    credential = Credential(
        id=credential_id, therapist_id=therapist.id, level_id=level.id, completion_id=completion_id,
        issued_by_id=issued_by.id, document=signed.document_text, jwt=signed.jwt, issued_at=now,
        valid_from=valid_from, valid_until=valid_until, public=public, key_id=signed.key_id,
        digest=document_digest(signed.document), recipient_name=recipient_name or therapist.name,
        replaces_id=replaces.id if replaces is not None else None,
    )
    session.add(credential)
    return credential


def credential_document(credential: Credential) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(credential.document)  # stored by signing: always a JSON object
    return document
