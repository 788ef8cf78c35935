"""Supervised clinical hours: the sessions a supervisor logs for a therapist assigned to them, and their sums.

Every session is a new row, logged by the supervisor who supervised it: date, minutes (1 to 1,440), setting and
population. A level's completion may require a minimum (``PolicyTerms.min_supervised_minutes``): every session
logged up to then counts, whoever supervised it, and the level credential carries the hours and the period
(``issuance.completion``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select

from issuer.accounts.assignments import require_assignment
from issuer.errors import InvalidInput
from issuer.learning.record_book import signable_text
from issuer.models import SupervisedSession, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.recertification import qualifications
from issuer.recertification.ledger import check_minutes, lock_therapist
from issuer.recertification.policy import service_timezone

MAX_LABEL = 100
MAX_MINUTES_A_DAY = 24 * 60
MAX_NOTE = 2000
#: How far back a session may be logged: a supervision record older than this is a typo in the year.
MAX_AGE = dt.timedelta(days=365 * 10)


def _label(value: str | None, what: str) -> str:
    text = signable_text(value, what)
    if not text:
        raise InvalidInput(f"give {what}")
    if len(text) > MAX_LABEL:
        raise InvalidInput(f"{what} is longer than {MAX_LABEL} characters")
    return text


def log_session(  # noqa: PLR0913 (one keyword per field of the session)
    session: SessionLike,
    *,
    supervisor: User,
    therapist: User,
    session_on: dt.date,
    minutes: object,
    setting: str,
    population: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> SupervisedSession:
    """Log one supervised session. Flushes; the caller commits.

    :raise PermissionDenied: ``supervisor`` is not an active supervisor assigned to ``therapist``.
    :raise InvalidInput: what is wrong with the session, in words.
    """
    require_assignment(session, supervisor=supervisor, therapist=therapist)
    now = now or utcnow()
    minutes = check_minutes(minutes)
    today = now.astimezone(service_timezone()).date()
    if session_on > today:
        raise InvalidInput("the session date cannot be in the future")
    if session_on < today - MAX_AGE:
        raise InvalidInput("the session date is more than ten years ago")
    text = signable_text(note, "the note")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    lock_therapist(session, therapist)
    same_day = session.scalar(select(func.coalesce(func.sum(SupervisedSession.minutes), 0)).where(
        SupervisedSession.therapist_id == therapist.id, SupervisedSession.session_on == session_on)) or 0
    if same_day + minutes > MAX_MINUTES_A_DAY:
        raise InvalidInput(f"{session_on.isoformat()} already holds {same_day} supervised minutes for this therapist; "
                           f"{minutes} more would make that day longer than 24 hours")
    row = SupervisedSession(
        therapist_id=therapist.id, supervisor_id=supervisor.id, session_on=session_on, minutes=minutes,
        setting=_label(setting, "the setting"), population=_label(population, "the population"), note=text,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, "hours.logged", actor=supervisor, subject_type="user", subject_id=therapist.id,
                 supervised_session=row.id, minutes=minutes)
    return row


def sessions_of(session: SessionLike, therapist_id: int) -> list[SupervisedSession]:
    """Every session logged for the therapist, newest first."""
    return list(session.scalars(
        select(SupervisedSession).where(SupervisedSession.therapist_id == therapist_id)
        .order_by(SupervisedSession.session_on.desc(), SupervisedSession.id.desc())
    ))


@dataclass(frozen=True)
class HoursSummary:
    minutes: int
    sessions: int
    first_day: dt.date | None
    last_day: dt.date | None

    @property
    def hours(self) -> Decimal:
        return hours_from_minutes(self.minutes)


def hours_from_minutes(minutes: int) -> Decimal:
    """Minutes as hours, to 0.01, rounded down (never over-counted)."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def format_hours(minutes: int) -> str:
    """``90`` -> ``"1.5"``, ``60000`` -> ``"1000"``."""
    text = f"{hours_from_minutes(minutes):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def summary(session: SessionLike, therapist_id: int) -> HoursSummary:
    """Minutes and sessions logged for the therapist, and the first and last session's dates."""
    minutes, count, first, last = session.execute(
        select(func.coalesce(func.sum(SupervisedSession.minutes), 0), func.count(SupervisedSession.id),
               func.min(SupervisedSession.session_on), func.max(SupervisedSession.session_on))
        .where(SupervisedSession.therapist_id == therapist_id)
    ).one()
    return HoursSummary(minutes=int(minutes), sessions=int(count), first_day=first, last_day=last)


#: The fragment of the ResultDescription a level credential's hours Result points to (within its Achievement).
RESULT_FRAGMENT = "supervised-clinical-hours"
#: OB 3.0's ResultType has no member for hours; an extension value is the spec's way to name one.
RESULT_TYPE = "ext:SupervisedClinicalHours"
#: How many distinct settings and populations the evidence lists per supervisor (the rest are counted).
MAX_LISTED = 8


@dataclass(frozen=True)
class HoursClaim:
    """What a level credential says about supervised hours (OB 3.0 AchievementSubject and Evidence fields)."""

    result_description: dict[str, object]
    result: dict[str, object]
    evidence: dict[str, object]
    activity_start: dt.datetime
    activity_end: dt.datetime


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:MAX_LISTED])
    return shown + (f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "")


def hours_evidence(session: SessionLike, therapist_id: int,
                   total: HoursSummary | None = None) -> dict[str, object] | None:
    """An OB 3.0 Evidence entry for every session logged for the therapist: the hours, the period, and each supervisor
    with their qualification (on the day of their last session), share of the hours, settings and populations.
    None when no session is logged. ``total``: the therapist's ``summary`` when the caller has it (same transaction)."""
    total = total if total is not None else summary(session, therapist_id)
    if total.sessions == 0 or total.first_day is None or total.last_day is None:
        return None
    rows = session.execute(
        select(SupervisedSession.supervisor_id, func.sum(SupervisedSession.minutes), func.count(SupervisedSession.id),
               func.min(SupervisedSession.session_on), func.max(SupervisedSession.session_on))
        .where(SupervisedSession.therapist_id == therapist_id)
        .group_by(SupervisedSession.supervisor_id).order_by(func.sum(SupervisedSession.minutes).desc())
    ).all()
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_([r[0] for r in rows])))}
    held = qualifications.all_of(session, list(people))
    lines = []
    for supervisor_id, minutes, count, first, last in rows:
        kinds = session.execute(
            select(SupervisedSession.setting, SupervisedSession.population).distinct()
            .where(SupervisedSession.therapist_id == therapist_id, SupervisedSession.supervisor_id == supervisor_id)
        ).all()
        settings = sorted({k[0] for k in kinds})
        populations = sorted({k[1] for k in kinds})
        who = qualifications.attestation(people[supervisor_id].name, held[supervisor_id], last)
        lines.append(f"- {who}: {format_hours(int(minutes))} hours in {count} session(s), {first.isoformat()} to "
                     f"{last.isoformat()}; settings: {_listed(settings)}; populations: {_listed(populations)}.")
    return {
        "type": ["Evidence"], "name": "Supervised clinical hours",
        "description": f"{format_hours(total.minutes)} hours of clinical work under supervision in "
                       f"{total.sessions} session(s), {total.first_day.isoformat()} to {total.last_day.isoformat()}.",
        "narrative": "\n".join(lines),
        "genre": "Supervised clinical hours",
        "audience": "Employers and credentialing bodies",
    }


def hours_claim(session: SessionLike, therapist_id: int, *, achievement_id: str,
                required_minutes: int | None, total: HoursSummary | None = None) -> HoursClaim | None:
    """The hours, period and supervisors of every session logged for the therapist; None when none is.

    - ``activityStartDate`` / ``activityEndDate``: the start of the first session's day and the end of the last
      session's day, in the service's time zone (sessions are logged by date).
    - A Result whose ``value`` is the hours (decimal, e.g. ``"1000.5"``), pointing to a ResultDescription
      "Supervised clinical hours" added to the credential's Achievement (with ``requiredValue`` when the policy
      sets a minimum).
    - An Evidence entry naming each supervisor, their qualification and their share of the hours.

    ``total``: the therapist's ``summary`` when the caller has already read it in this transaction (one query
    fewer per issuance).
    """
    total = total if total is not None else summary(session, therapist_id)
    evidence = hours_evidence(session, therapist_id, total)
    if evidence is None or total.first_day is None or total.last_day is None:
        return None
    tz = service_timezone()
    description_id = f"{achievement_id}#{RESULT_FRAGMENT}"
    result_description: dict[str, object] = {
        "id": description_id, "type": ["ResultDescription"], "name": "Supervised clinical hours",
        "resultType": RESULT_TYPE, "valueMin": "0",
    }
    if required_minutes is not None:
        result_description["requiredValue"] = format_hours(required_minutes)
    return HoursClaim(
        result_description=result_description,
        result={"type": ["Result"], "resultDescription": description_id, "value": format_hours(total.minutes)},
        evidence=evidence,
        activity_start=dt.datetime.combine(total.first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC),
        activity_end=dt.datetime.combine(total.last_day, dt.time(23, 59, 59), tzinfo=tz).astimezone(dt.UTC),
    )
