"""The continuing-education ledger: activities recorded, then approved or returned, and the credits they count for.

Rules:

- **Who records.** The therapist, or a supervisor assigned to them. An activity is ``submitted`` until an
  assigned supervisor or an administrator approves it or returns it with a reason; the decision is final (a
  returned activity is recorded again, corrected). Of concurrent decisions one wins; the others answer 409.
- **What counts.** Minutes are whole numbers from 1 to 1,440 (24 hours: one activity is one day at most). The
  credits are ``credits_from_minutes(minutes, minutes_per_credit)`` with the ratio of the policy in force when the
  activity is recorded, kept on the row. The category is one of :data:`CATEGORIES`.
- **When.** An activity is dated within the therapist's current cycle (:func:`current_cycle`: the validity period of
  their current credential that expires) and not after today, both in the service's time zone.
- **Totals** (:func:`credit_totals`) count approved activities only, per cycle and per category.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update

from issuer.accounts import assignments
from issuer.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from issuer.learning.record_book import check_evidence_url, signable_text
from issuer.models import Credential, CreditActivity, Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.recertification.policy import (
    CENT,
    CreditTotals,
    Cycle,
    credits_from_minutes,
    cycle_for,
    policy_for,
    requirements_met,
    service_timezone,
)

SUBMITTED = "submitted"
APPROVED = "approved"
RETURNED = "returned"
#: The categories an activity is filed under (keys in the policy's normal form: a policy's minimum for "ethics"
#: counts the activities filed here as "ethics"), and how pages name them.
CATEGORIES: dict[str, str] = {
    "ethics": "Ethics",
    "clinical practice": "Clinical practice",
    "music skills": "Music skills",
    "research": "Research and evidence-based practice",
    "professional development": "Professional development",
}
MAX_MINUTES = 24 * 60
MAX_TEXT = 200
MAX_NOTE = 2000


def category_label(category: str) -> str:
    return CATEGORIES.get(category, category)


def credits_of(activity: CreditActivity) -> Decimal:
    return credits_from_minutes(activity.minutes, activity.minutes_per_credit)


def current_credential(session: SessionLike, therapist: User, *, now: dt.datetime | None = None) -> Credential | None:
    """The credential whose validity period is the therapist's current cycle: of their credentials that expire and
    are neither revoked nor superseded, the one that begins last, as long as it has not ended.

    Renewed early, a credential is superseded by its renewal, which begins when it ends: the cycle is then the
    renewal's, and an activity dated before it begins counts towards nothing (the renewal was issued on the
    credits of the cycle before).
    """
    now = now or utcnow()
    return session.scalars(
        select(Credential).where(
            Credential.therapist_id == therapist.id, Credential.valid_until.is_not(None),
            Credential.revoked_at.is_(None), Credential.superseded_at.is_(None), Credential.valid_until > now,
        ).order_by(Credential.valid_from.desc(), Credential.issued_at.desc()).limit(1)
    ).first()


def current_cycle(session: SessionLike, therapist: User, *, now: dt.datetime | None = None) -> Cycle | None:
    credential = current_credential(session, therapist, now=now)
    return cycle_for(credential) if credential is not None else None


def lock_therapist(session: SessionLike, therapist: User) -> None:
    """Serialise the entries of one therapist's day totals: ``SELECT … FOR UPDATE`` of their account's row on
    PostgreSQL (a concurrent entry waits, then sees this one's minutes); on SQLite the writing transaction already
    holds the database's write lock."""
    session.execute(select(User.id).where(User.id == therapist.id).with_for_update())


def may_record(session: SessionLike, actor: User, therapist: User) -> bool:
    if not actor.active or therapist.role is not Role.THERAPIST:
        return False
    if actor.role is Role.THERAPIST:
        return actor.id == therapist.id
    return actor.role is Role.SUPERVISOR and assignments.is_assigned(session, supervisor=actor, therapist=therapist)


def may_decide(session: SessionLike, actor: User, therapist: User) -> bool:
    if not actor.active:
        return False
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.SUPERVISOR and assignments.is_assigned(session, supervisor=actor, therapist=therapist)


def may_see(session: SessionLike, actor: User, therapist: User) -> bool:
    return actor.id == therapist.id or may_decide(session, actor, therapist)


def _text(value: str | None, what: str, *, required: bool, limit: int) -> str:
    text = signable_text(value, what)
    if required and not text:
        raise InvalidInput(f"give {what}")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text


def check_minutes(minutes: object) -> int:
    """:raise InvalidInput: not a whole number of minutes from 1 to 1,440."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput("minutes must be a whole number")
    if minutes <= 0:
        raise InvalidInput(f"minutes must be more than 0 (got {minutes})")
    if minutes > MAX_MINUTES:
        raise InvalidInput(f"one activity lasts at most 24 hours ({MAX_MINUTES} minutes; got {minutes}): "
                           "record a longer course as one activity per day")
    return minutes


def record_activity(  # noqa: PLR0913 (one keyword per field of the activity)
    session: SessionLike,
    *,
    actor: User,
    therapist: User,
    title: str,
    provider: str,
    activity_on: dt.date,
    minutes: object,
    category: str,
    evidence_url: str | None = None,
    evidence_note: str = "",
    now: dt.datetime | None = None,
) -> CreditActivity:
    """Record a continuing-education activity as submitted. Flushes; the caller commits.

    :raise PermissionDenied: ``actor`` is neither the therapist nor a supervisor assigned to them.
    :raise InvalidInput: what is wrong with the activity, in words (minutes, date, category, text).
    """
    if not may_record(session, actor, therapist):
        raise PermissionDenied("only the therapist or a supervisor assigned to them can record their activities")
    now = now or utcnow()
    minutes = check_minutes(minutes)
    title = _text(title, "the title", required=True, limit=MAX_TEXT)
    provider = _text(provider, "the provider", required=True, limit=MAX_TEXT)
    note = _text(evidence_note, "the evidence note", required=False, limit=MAX_NOTE)
    url = check_evidence_url(evidence_url) if evidence_url and evidence_url.strip() else None
    category = " ".join((category or "").split()).casefold()
    if category not in CATEGORIES:
        raise InvalidInput(f"the category must be one of: {', '.join(CATEGORIES)}")
    tz = service_timezone()
    if activity_on > now.astimezone(tz).date():
        raise InvalidInput("the activity date cannot be in the future")
    credential = current_credential(session, therapist, now=now)
    if credential is None:
        raise InvalidInput(f"{therapist.name} has no current credential that expires, so no re-certification cycle "
                           "is open to count continuing education towards")
    cycle = cycle_for(credential)
    if not cycle.contains(activity_on, tz):
        last = cycle.last_day(tz)
        upcoming = " (renewed: the next cycle has not begun)" if cycle.start > now else ""
        raise InvalidInput(f"the activity date {activity_on.isoformat()} is outside the current cycle "
                           f"({cycle.first_day(tz).isoformat()} to {last.isoformat() if last else 'open'}){upcoming}")
    lock_therapist(session, therapist)
    same_day = session.scalar(select(func.coalesce(func.sum(CreditActivity.minutes), 0)).where(
        CreditActivity.therapist_id == therapist.id, CreditActivity.activity_on == activity_on,
        CreditActivity.state != RETURNED)) or 0
    if same_day + minutes > MAX_MINUTES:
        raise InvalidInput(f"{activity_on.isoformat()} already holds {same_day} minutes of continuing education; "
                           f"{minutes} more would make that day longer than 24 hours")
    terms = policy_for(session, credential.level)
    activity = CreditActivity(
        therapist_id=therapist.id, recorded_by_id=actor.id, title=title, provider=provider, activity_on=activity_on,
        minutes=minutes, minutes_per_credit=terms.minutes_per_credit, category=category, evidence_url=url,
        evidence_note=note, state=SUBMITTED, created_at=now,
    )
    session.add(activity)
    session.flush()
    audit.record(session, "ce.recorded", actor=actor, subject_type="user", subject_id=therapist.id,
                 activity=activity.id, minutes=minutes, category=category)
    return activity


def get_activity(session: SessionLike, actor: User, activity_id: int) -> CreditActivity:
    """The activity, if ``actor`` may see it. :raise NotFound: no such activity, or not visible (same answer)."""
    activity = session.get(CreditActivity, activity_id)
    if activity is None or not may_see(session, actor, activity.therapist):
        raise NotFound("no continuing-education activity with that id is visible to you")
    return activity


def decide(session: SessionLike, *, actor: User, activity: CreditActivity, approve: bool,
           reason: str = "") -> CreditActivity:
    """Approve, or return with a reason, a submitted activity. Flushes; the caller commits.

    The state moves only from ``submitted``, in one conditional UPDATE: of concurrent decisions one changes the row
    and the others find it decided (409), on either database.

    :raise PermissionDenied: ``actor`` is neither an administrator nor a supervisor assigned to the therapist.
    :raise InvalidInput: a return without a reason.
    :raise Conflict: the activity was already approved or returned.
    """
    if not may_decide(session, actor, activity.therapist):
        raise PermissionDenied("only a supervisor assigned to this therapist or an administrator can decide on "
                               "their activities")
    reason = _text(reason, "the reason", required=not approve, limit=MAX_NOTE)
    now = utcnow()
    state = APPROVED if approve else RETURNED
    changed = session.scalar(
        update(CreditActivity).where(CreditActivity.id == activity.id, CreditActivity.state == SUBMITTED)
        .values(state=state, decided_by_id=actor.id, decided_at=now, reason=reason or None)
        .returning(CreditActivity.id).execution_options(synchronize_session=False)
    )
    session.refresh(activity)
    if changed is None:
        raise Conflict(f"this activity was already {activity.state}"
                       + (f" by {activity.decided_by.name}" if activity.decided_by else ""),
                       state=activity.state)
    audit.record(session, f"ce.{state}", actor=actor, subject_type="user", subject_id=activity.therapist_id,
                 activity=activity.id, reason=reason or None)
    session.flush()
    return activity


def activities_of(session: SessionLike, therapist_id: int, *, states: Sequence[str] | None = None,
                  cycle: Cycle | None = None) -> list[CreditActivity]:
    """The therapist's activities, newest first (of ``states`` only, within ``cycle`` only, if given)."""
    query = select(CreditActivity).where(CreditActivity.therapist_id == therapist_id)
    if states is not None:
        query = query.where(CreditActivity.state.in_(list(states)))
    rows = list(session.scalars(query.order_by(CreditActivity.activity_on.desc(), CreditActivity.id.desc())))
    if cycle is not None:
        tz = service_timezone()
        rows = [row for row in rows if cycle.contains(row.activity_on, tz)]
    return rows


def approved_activities(session: SessionLike, therapist_id: int, cycle: Cycle) -> list[CreditActivity]:
    """The approved activities dated within ``cycle``, oldest first."""
    return list(reversed(activities_of(session, therapist_id, states=[APPROVED], cycle=cycle)))


def totals_of(activities: Sequence[CreditActivity]) -> CreditTotals:
    total = Decimal(0).quantize(CENT)
    by_category: dict[str, Decimal] = {}
    for activity in activities:
        amount = credits_of(activity)
        total += amount
        by_category[activity.category] = by_category.get(activity.category, Decimal(0).quantize(CENT)) + amount
    return CreditTotals(total=total, by_category=by_category)


def credit_totals(session: SessionLike, therapist_id: int, cycle: Cycle) -> CreditTotals:
    """Approved credits dated within ``cycle``: the total and per category."""
    return totals_of(approved_activities(session, therapist_id, cycle))


@dataclass(frozen=True)
class Progress:
    """The therapist's standing in their current cycle (``issuer.recertification.policy`` terms)."""

    credential: Credential
    cycle: Cycle
    totals: CreditTotals
    pending: CreditTotals
    required_credits: Decimal | None
    category_minimums: dict[str, Decimal]
    unmet: list[str]
    days_left: int | None
    first_day: dt.date
    last_day: dt.date | None


def progress(session: SessionLike, therapist: User, *, now: dt.datetime | None = None) -> Progress | None:
    """Credits approved and awaiting a decision in the current cycle, against the policy; None with no cycle."""
    now = now or utcnow()
    credential = current_credential(session, therapist, now=now)
    if credential is None:
        return None
    cycle = cycle_for(credential)
    terms = policy_for(session, credential.level)
    totals = credit_totals(session, therapist.id, cycle)
    pending = totals_of(activities_of(session, therapist.id, states=[SUBMITTED], cycle=cycle))
    tz = service_timezone()
    return Progress(
        credential=credential, cycle=cycle, totals=totals, pending=pending,
        required_credits=terms.required_credits, category_minimums=dict(terms.category_minimums),
        unmet=requirements_met(terms, totals), days_left=cycle.days_left(now, tz),
        first_day=cycle.first_day(tz), last_day=cycle.last_day(tz),
    )
