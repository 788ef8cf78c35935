"""Expiry reminders: at each lead time of a level's policy (e.g. 90, 30 and 7 days before validUntil), one notice.

``send_due`` is what ``issuer recertification remind`` runs (from cron, say daily). For every current credential
(not superseded by a renewal or re-issue, not revoked, not suspended, not yet expired, its therapist active) it
finds the lead times that are due: ``days left <= lead``, where days left counts calendar days in the service's time
zone from today to the credential's last valid day. Each due lead time is *claimed* before anything is sent, by
inserting its ``ReminderNotice`` row, unique per (credential, lead days): of two runs at once, or a run repeated,
one claims it and the others find it taken. When several lead times are due at once (the command did not run for a
while), all are claimed and one notice goes, for the nearest. The notice is queued for after the commit
(``issuer.platform.on_commit``): a run that rolls back sends nothing and leaves its claims unmade; a notice that
fails to send after the commit is logged, and not sent again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from email.message import Message

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from issuer.identity.profile import base_url
from issuer.issuance import notices
from issuer.models import Credential, ReminderNotice, User, ValidityPolicy, utcnow
from issuer.platform.database import SessionLike, insert_or_ignore
from issuer.recertification import ledger, policy


@dataclass(frozen=True)
class Reminder:
    """One notice sent (or, in a dry run, that would be sent)."""

    credential_id: uuid.UUID
    email: str
    lead_days: int
    days_left: int
    valid_until: dt.datetime
    #: What renewal still needs, in words (empty: nothing, or nothing required).
    missing: list[str] = field(default_factory=list)


def expiry_text(valid_until: dt.datetime, tz: dt.tzinfo) -> str:
    """``5 December 2031 at 01:30 (UTC)``: the instant on the service's clock, unambiguous in any language."""
    local = valid_until.astimezone(tz)
    return f"{local.day} {local:%B %Y} at {local:%H:%M} ({tz})"


def still_needed(session: SessionLike, credential: Credential, terms: policy.PolicyTerms) -> list[str]:
    """What the therapist's approved credits in this credential's cycle still lack for renewal (empty: met)."""
    if not terms.requires_credits:
        return []
    totals = ledger.credit_totals(session, credential.therapist_id, policy.cycle_for(credential))
    return policy.requirements_met(terms, totals)


def reminder_message(credential: Credential, *, valid_until: dt.datetime, days_left: int, missing: list[str],
                     terms: policy.PolicyTerms, tz: dt.tzinfo) -> Message:
    """The reminder: which credential, when it expires and in how many days, what renewal still needs, links."""
    level = credential.level
    base = base_url()
    when = "today" if days_left == 0 else ("tomorrow" if days_left == 1 else f"in {days_left} days")
    lines = [
        f"Dear {credential.therapist.name},",
        "",
        (f"Your {level.label} credential of the {level.framework.name} {level.framework.version}, issued by "
         f"{current_app.config['ISSUER_NAME']}, expires {when}: it is valid until "
         f"{expiry_text(valid_until, tz)}."),
        "",
    ]
    if missing:
        lines += ["To renew it, you still need:", *[f"  - {item}" for item in missing], "",
                  (f"Record your continuing-education activities at {base}/me; once your supervisor has approved "
                   "enough of them, the renewal can be issued."), ""]
    elif terms.requires_credits:
        lines += [("Your approved continuing-education credits meet the requirements for renewal: ask your "
                   "supervisor or the administrator to issue it."), ""]
    else:
        lines += ["Ask your supervisor or the administrator to issue its renewal.", ""]
    lines += [f"Your credential: {base}/credentials/{credential.id}", ""]
    subject = (f"Your {level.framework.title}: {level.label} credential expires "
               f"{'today' if days_left == 0 else f'in {days_left} day' + ('' if days_left == 1 else 's')}")
    return notices.notice_for(credential, subject, "\n".join(lines))


#: Current credentials that expire: the ones reminders are for (only the columns reminders read: not the documents).
_CANDIDATES = (
    select(Credential)
    .join(User, User.id == Credential.therapist_id)
    .where(Credential.valid_until.is_not(None), Credential.superseded_at.is_(None), Credential.revoked_at.is_(None),
           Credential.suspended_at.is_(None), User.active.is_(True))
    .options(load_only(Credential.id, Credential.therapist_id, Credential.level_id, Credential.valid_from,
                       Credential.valid_until), selectinload(Credential.therapist))
    .order_by(Credential.valid_until, Credential.id)
)
#: Claims are read for this many credentials per query.
CLAIMS_CHUNK = 500


def longest_lead(session: SessionLike) -> int:
    """The longest reminder lead time of any policy, in days (0: no policy sends reminders)."""
    longest = 0
    for text in session.scalars(select(ValidityPolicy.reminder_days)):
        try:
            longest = max([longest, *policy.parse_reminder_days(text)])
        except ValueError:  # stored by policy_store, which checks it; a hand-edited row is skipped, not fatal
            continue
    return longest


def _claims(session: SessionLike, ids: list[uuid.UUID]) -> dict[uuid.UUID, set[int]]:
    claims: dict[uuid.UUID, set[int]] = {}
    for start in range(0, len(ids), CLAIMS_CHUNK):
        rows = session.execute(select(ReminderNotice.credential_id, ReminderNotice.lead_days)
                               .where(ReminderNotice.credential_id.in_(ids[start:start + CLAIMS_CHUNK])))
        for credential_id, lead in rows:
            claims.setdefault(credential_id, set()).add(lead)
    return claims


def send_due(session: SessionLike, *, now: dt.datetime | None = None, dry_run: bool = False) -> list[Reminder]:
    """Claim and queue every reminder due at ``now``. Flushes only; the notices go after the caller's commit.

    ``dry_run``: claim nothing, send nothing; answer what would be sent.
    """
    now = now or utcnow()
    tz = policy.service_timezone()
    lead = longest_lead(session)
    if lead == 0:
        return []
    # Only credentials ending within the longest lead time (a day more: days are counted in the service's zone).
    horizon = now + dt.timedelta(days=lead + 2)
    terms_by_level: dict[int, policy.PolicyTerms] = {}
    sent: list[Reminder] = []
    candidates = session.scalars(_CANDIDATES.where(Credential.valid_until > now,
                                                   Credential.valid_until <= horizon)).all()
    claims = _claims(session, [credential.id for credential in candidates])
    for credential in candidates:
        valid_until = credential.valid_until
        if valid_until is None:  # the query asks for credentials that expire; this tells the type checker
            continue
        terms = terms_by_level.get(credential.level_id)
        if terms is None:
            terms = terms_by_level[credential.level_id] = policy.policy_for(session, credential.level)
        days_left = policy.cycle_for(credential).days_left(now, tz)
        if days_left is None or days_left < 0:
            continue
        due = sorted(lead for lead in terms.reminder_days if days_left <= lead)
        unsent = [lead for lead in due if lead not in claims.get(credential.id, set())]
        if not unsent:
            continue
        if not dry_run:
            # Nearest first: whoever claims it sends the notice; the farther ones are claimed so they never go late.
            # The unique row decides between concurrent runs (what ``claims`` read may be stale by now).
            won = [session.scalar(insert_or_ignore(session, ReminderNotice)
                                  .values(credential_id=credential.id, lead_days=lead, sent_at=now)
                                  .returning(ReminderNotice.id)) is not None for lead in unsent]
            if not won[0]:
                continue
        missing = still_needed(session, credential, terms)
        reminder = Reminder(credential_id=credential.id, email=credential.therapist.email, lead_days=unsent[0],
                            days_left=days_left, valid_until=valid_until, missing=missing)
        if not dry_run:
            message = reminder_message(credential, valid_until=valid_until, days_left=days_left, missing=missing,
                                       terms=terms, tz=tz)
            notices.queue(session, message, about=f"reminder {unsent[0]} days, credential {credential.id}")
        sent.append(reminder)
    session.flush()
    return sent
