"""The administrator's re-certification reports: credentials expiring soon, therapists behind on credits, and their
CSV export with every cell made safe to open in a spreadsheet.

- **Expiring**: credentials not revoked or superseded whose ``validUntil`` falls within the next N days.
- **Behind**: therapists in an open cycle (``ledger.current_credential``) whose policy requires credits and whose
  approved credits are below the share of the requirement that the time elapsed in the cycle calls for
  (required x elapsed / length, in whole credits rounded down: a day into a cycle nobody is behind), or who miss a
  category minimum with less than a fifth of the cycle left.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select

from issuer.models import Credential, Role, User, utcnow
from issuer.platform.database import SessionLike
from issuer.platform.spreadsheet import safe_cell
from issuer.recertification import ledger
from issuer.recertification.policy import (
    CENT,
    cycle_for,
    format_credits,
    policy_for,
    requirements_met,
    service_timezone,
)

MAX_DAYS = 3650
#: The share of a cycle left below which a missing category minimum makes a therapist "behind".
CATEGORY_WARNING_SHARE = Decimal("0.2")


@dataclass(frozen=True)
class Expiring:
    credential: Credential
    therapist: User
    valid_until: dt.datetime
    days_left: int


@dataclass(frozen=True)
class Behind:
    therapist: User
    credential: Credential
    first_day: dt.date
    last_day: dt.date | None
    days_left: int | None
    approved: Decimal
    required: Decimal | None
    expected: Decimal
    unmet: list[str]

    @property
    def shortfall(self) -> Decimal:
        return max(self.expected - self.approved, Decimal(0)).quantize(CENT)


def check_days(days: int) -> int:
    """:raise ValueError: not a whole number of days from 1 to 3,650."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"the number of days must be from 1 to {MAX_DAYS}")
    return days


def expiring(session: SessionLike, days: int, *, now: dt.datetime | None = None) -> list[Expiring]:
    """Current credentials whose validity ends within ``days`` days from now, soonest first."""
    now = now or utcnow()
    horizon = now + dt.timedelta(days=check_days(days))
    tz = service_timezone()
    rows = session.scalars(
        select(Credential).where(
            Credential.valid_until.is_not(None), Credential.valid_until > now, Credential.valid_until <= horizon,
            Credential.revoked_at.is_(None), Credential.superseded_at.is_(None),
        ).order_by(Credential.valid_until, Credential.issued_at)
    )
    found = []
    for credential in rows:
        until = credential.valid_until
        if until is None:  # excluded by the query; kept for the type
            continue
        days_left = cycle_for(credential).days_left(now, tz)
        found.append(Expiring(credential=credential, therapist=credential.therapist, valid_until=until,
                              days_left=days_left if days_left is not None else 0))
    return found


def behind(session: SessionLike, *, now: dt.datetime | None = None) -> list[Behind]:
    """Therapists behind on continuing education in their current cycle, furthest behind first."""
    now = now or utcnow()
    found = []
    for therapist in session.scalars(select(User).where(User.role == Role.THERAPIST, User.active.is_(True))):
        progress = ledger.progress(session, therapist, now=now)
        if progress is None or progress.cycle.end is None:
            continue
        terms = policy_for(session, progress.credential.level)
        if not terms.requires_credits:
            continue
        length = (progress.cycle.end - progress.cycle.start).total_seconds()
        elapsed = min(max((now - progress.cycle.start).total_seconds(), 0.0), length)
        share = Decimal(str(elapsed / length)) if length > 0 else Decimal(1)
        required = terms.required_credits
        expected = ((required or Decimal(0)) * share).quantize(Decimal(1), rounding=ROUND_DOWN).quantize(CENT)
        unmet = requirements_met(terms, progress.totals)
        late_in_cycle = share >= 1 - CATEGORY_WARNING_SHARE
        category_unmet = any(progress.totals.by_category.get(name, Decimal(0)) < minimum
                             for name, minimum in terms.category_minimums.items())
        if progress.totals.total < expected or (late_in_cycle and category_unmet):
            found.append(Behind(
                therapist=therapist, credential=progress.credential, first_day=progress.first_day,
                last_day=progress.last_day, days_left=progress.days_left, approved=progress.totals.total,
                required=required, expected=expected, unmet=unmet,
            ))
    return sorted(found, key=lambda row: (-row.shortfall, row.days_left if row.days_left is not None else 0,
                                          row.therapist.name))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quotes where needed), every cell passed through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


EXPIRING_HEADER = ("Therapist", "E-mail", "Credential", "Level", "Valid until (UTC)", "Days left")
BEHIND_HEADER = ("Therapist", "E-mail", "Cycle start", "Cycle end", "Days left", "Approved credits",
                 "Required credits", "Expected by now", "Shortfall", "Unmet requirements")


def expiring_csv(rows: Sequence[Expiring]) -> str:
    return to_csv(EXPIRING_HEADER, (
        (r.credential.recipient_name, r.therapist.email, str(r.credential.id), r.credential.level.label,
         r.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"), r.days_left) for r in rows))


def behind_csv(rows: Sequence[Behind]) -> str:
    return to_csv(BEHIND_HEADER, (
        (r.therapist.name, r.therapist.email, r.first_day.isoformat(), r.last_day.isoformat() if r.last_day else "",
         r.days_left if r.days_left is not None else "", format_credits(r.approved),
         format_credits(r.required) if r.required is not None else "", format_credits(r.expected),
         format_credits(r.shortfall), "; ".join(r.unmet)) for r in rows))
