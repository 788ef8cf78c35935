"""The validity policy of a level and its arithmetic: validity periods, cycles, credits and requirements.

Rules (the README's "Re-certification" section says the same):

- **Which policy.** A level's own policy, if it has one, applies as a whole; otherwise its framework's policy;
  otherwise none (:data:`NO_POLICY`): credentials never expire and renewal requires nothing.
- **validUntil** is ``validFrom`` plus the policy's number of *calendar* months, counted on the wall clock of the
  service's time zone (``ISSUER_TIMEZONE``, default UTC): same local time of day, same day of the month, clamped
  to the month's last day when that month is shorter (31 January + 1 month = 28 or 29 February). A local time that
  does not exist that day (a daylight-saving gap) is read as the zone's ``fold=0`` reading moves it.
- **A cycle** is a credential's validity period, the instants ``start <= t < end`` (``end`` None: open-ended).
  A calendar date belongs to the cycle when any part of that day, from 00:00 to 24:00 in the service's time zone,
  lies within it: the day validity begins counts, the day it ends counts if the credential was still valid for part
  of it, and the day after does not. A credential ending at local midnight therefore ends with the previous day.
- **Credits** are minutes divided by ``minutes_per_credit`` (50 by default), exact to 0.01 and rounded down
  (49 minutes = 0.98 credits, 50 = 1.00, 1 = 0.02): credits are never over-counted. Totals are the sum of each
  activity's credits, so rounding happens once per activity.
- **Categories** are compared by their normal form (:func:`normalise_category`: trimmed, inner spaces collapsed,
  case-folded), so "Ethics" and " ethics " are one category.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from issuer.models import Level, ValidityPolicy
from issuer.platform.database import SessionLike

if TYPE_CHECKING:
    from issuer.models import Credential

#: Credits are kept to two decimals.
CENT = Decimal("0.01")
DEFAULT_MINUTES_PER_CREDIT = 50
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (90, 30, 7)
#: Bounds an administrator's policy must keep (refused beyond: a typo, not a policy).
MAX_VALIDITY_MONTHS = 1200
MAX_CREDITS = Decimal(10000)
MAX_MINUTES_PER_CREDIT = 24 * 60
MAX_SUPERVISED_MINUTES = 100_000 * 60
MAX_REMINDER_DAYS = 3650
MAX_YEAR = 9999
MAX_CATEGORIES = 20
MAX_CATEGORY_LENGTH = 60


@dataclass(frozen=True)
class PolicyTerms:
    """What a validity policy says, typed. ``source`` tells where it came from: ``level``, ``framework`` or
    ``none`` (no policy)."""

    validity_months: int | None = None
    required_credits: Decimal | None = None
    category_minimums: Mapping[str, Decimal] = field(default_factory=dict)
    minutes_per_credit: int = DEFAULT_MINUTES_PER_CREDIT
    min_supervised_minutes: int | None = None
    reminder_days: tuple[int, ...] = ()
    source: str = "none"

    @property
    def expires(self) -> bool:
        return self.validity_months is not None

    @property
    def requires_credits(self) -> bool:
        return self.required_credits is not None or bool(self.category_minimums)


#: No policy: no expiry, no requirements, no reminders.
NO_POLICY = PolicyTerms()


@dataclass(frozen=True)
class CreditTotals:
    """Approved credits in a cycle: the total, and per category (keys in :func:`normalise_category` form)."""

    total: Decimal
    by_category: dict[str, Decimal] = field(default_factory=dict)


ZERO_TOTALS = CreditTotals(total=Decimal("0.00"))


def normalise_category(name: str) -> str:
    """The form categories are compared and stored in: trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(name.split()).casefold()


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """``"90,30,7"`` -> ``(90, 30, 7)``: distinct, largest first. :raise ValueError: not whole days in range."""
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= MAX_REMINDER_DAYS:
            raise ValueError(f"reminder lead times are whole days from 1 to {MAX_REMINDER_DAYS}, "
                             f"separated by commas (got {part!r})")
        days.add(int(part))
    return tuple(sorted(days, reverse=True))


def parse_category_minimums(value: str | Mapping[str, Any]) -> dict[str, Decimal]:
    """A JSON object (or mapping) of category -> minimum credits. :raise ValueError: what is wrong, in words."""
    data: Any = value
    if isinstance(value, str):
        try:
            data = json.loads(value or "{}")
        except ValueError as error:
            raise ValueError("category minimums must be a JSON object such as {\"ethics\": 3}") from error
    if not isinstance(data, Mapping):
        raise ValueError("category minimums must be a JSON object such as {\"ethics\": 3}")  # noqa: TRY004 (one error type for bad input)
    if len(data) > MAX_CATEGORIES:
        raise ValueError(f"at most {MAX_CATEGORIES} category minimums")
    result: dict[str, Decimal] = {}
    for raw_name, raw_credits in data.items():
        name = normalise_category(str(raw_name))
        if not name or len(name) > MAX_CATEGORY_LENGTH:
            raise ValueError(f"a category name is 1 to {MAX_CATEGORY_LENGTH} characters (got {raw_name!r})")
        if name in result:
            raise ValueError(f"the category {name!r} is named twice")
        result[name] = parse_credits(raw_credits, f"the minimum for {name!r}")
    return result


def parse_credits(value: Any, what: str = "credits") -> Decimal:
    """A number of credits, 0 to 10,000, at most two decimals. :raise ValueError: otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{what} must be a number")  # noqa: TRY004 (one error type for bad input)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"{what} must be a number (got {value!r})") from error
    if not amount.is_finite() or amount < 0 or amount > MAX_CREDITS:
        raise ValueError(f"{what} must be between 0 and {MAX_CREDITS}")
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise ValueError(f"{what} has at most two decimals")
    return amount.quantize(CENT)


def terms_of(policy: ValidityPolicy) -> PolicyTerms:
    """A policy row, typed."""
    return PolicyTerms(
        validity_months=policy.validity_months,
        required_credits=(Decimal(policy.required_credits).quantize(CENT)
                          if policy.required_credits is not None else None),
        category_minimums=parse_category_minimums(policy.category_minimums),
        minutes_per_credit=policy.minutes_per_credit,
        min_supervised_minutes=policy.min_supervised_minutes,
        reminder_days=parse_reminder_days(policy.reminder_days),
        source="level" if policy.level_id is not None else "framework",
    )


def policy_row(session: SessionLike, level: Level) -> ValidityPolicy | None:
    """The policy row that applies to ``level``: its own, else its framework's, else None."""
    rows = list(session.scalars(select(ValidityPolicy).where(
        ValidityPolicy.framework_id == level.framework_id,
        (ValidityPolicy.level_id == level.id) | ValidityPolicy.level_id.is_(None),
    )))
    own = [row for row in rows if row.level_id == level.id]
    return own[0] if own else (rows[0] if rows else None)


def policy_for(session: SessionLike, level: Level) -> PolicyTerms:
    """The terms that apply to ``level`` (:data:`NO_POLICY` when none is set)."""
    row = policy_row(session, level)
    return terms_of(row) if row is not None else NO_POLICY


# --- time ---------------------------------------------------------------------------------------------------------

def service_timezone() -> ZoneInfo:
    """``ISSUER_TIMEZONE`` of the current app (an IANA name; default UTC)."""
    from flask import current_app, has_app_context

    name = current_app.config.get("ISSUER_TIMEZONE", "UTC") if has_app_context() else "UTC"
    return timezone_named(name)


def timezone_named(name: str) -> ZoneInfo:
    """:raise ValueError: not an IANA time zone name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as UTC or America/Chicago)") from error


def add_months(instant: dt.datetime, months: int, tz: dt.tzinfo) -> dt.datetime:
    """``instant`` plus ``months`` calendar months on ``tz``'s wall clock, the day clamped to the month's end.

    Returns UTC, to the second. :raise ValueError: a naive instant, or a result past year 9999.
    """
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one")
    local = instant.astimezone(tz)
    month_index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    if not 1 <= year <= MAX_YEAR:
        raise ValueError("the validity period ends after the year 9999")
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day, fold=0)
    # A wall-clock time in a daylight-saving gap does not exist; round-tripping through UTC settles it.
    return moved.astimezone(dt.UTC).replace(microsecond=0)


def valid_until_for(terms: PolicyTerms, valid_from: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """The validUntil a credential valid from ``valid_from`` gets under ``terms`` (None: no expiry)."""
    if terms.validity_months is None:
        return None
    return add_months(valid_from, terms.validity_months, tz if tz is not None else service_timezone())


@dataclass(frozen=True)
class Cycle:
    """A validity period: the instants ``start <= t < end`` (``end`` None: it never ends)."""

    start: dt.datetime
    end: dt.datetime | None

    def contains_instant(self, instant: dt.datetime) -> bool:
        return self.start <= instant and (self.end is None or instant < self.end)

    def contains(self, day: dt.date, tz: dt.tzinfo) -> bool:
        """Whether any part of the calendar day ``day`` (00:00 to 24:00 in ``tz``) lies within the cycle."""
        day_start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        day_end = (dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
                   if day < dt.date.max else None)
        starts_in_time = day_end is None or self.start < day_end
        return starts_in_time and (self.end is None or day_start < self.end)

    def first_day(self, tz: dt.tzinfo) -> dt.date:
        return self.start.astimezone(tz).date()

    def last_day(self, tz: dt.tzinfo) -> dt.date | None:
        """The last calendar day (in ``tz``) of which a part lies within the cycle."""
        if self.end is None:
            return None
        last_instant = self.end - dt.timedelta(microseconds=1)
        return last_instant.astimezone(tz).date()

    def days_left(self, now: dt.datetime, tz: dt.tzinfo) -> int | None:
        """Calendar days from today (in ``tz``) to the cycle's last day: 0 on the last day, negative after it."""
        last = self.last_day(tz)
        if last is None:
            return None
        return (last - now.astimezone(tz).date()).days


def cycle_for(credential: Credential) -> Cycle:
    """The cycle of a credential: its validity period (validFrom to validUntil)."""
    return Cycle(start=credential.valid_from, end=credential.valid_until)


def credits_from_minutes(minutes: int, minutes_per_credit: int = DEFAULT_MINUTES_PER_CREDIT) -> Decimal:
    """Minutes as credits, exact to 0.01 and rounded down. :raise ValueError: negative minutes, or a rate below 1."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError("minutes must be a whole number, 0 or more")
    if isinstance(minutes_per_credit, bool) or not isinstance(minutes_per_credit, int) or minutes_per_credit < 1:
        raise ValueError("minutes per credit must be a whole number, 1 or more")
    return (Decimal(minutes) / Decimal(minutes_per_credit)).quantize(CENT, rounding=ROUND_DOWN)


def format_credits(amount: Decimal | int) -> str:
    """``Decimal("3.00")`` -> ``"3"``, ``Decimal("2.50")`` -> ``"2.5"``."""
    text = f"{Decimal(amount).quantize(CENT):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def requirements_met(terms: PolicyTerms, totals: CreditTotals) -> list[str]:
    """The requirements of ``terms`` that ``totals`` do not meet, in plain words; empty when all are met.

    Credits in a category count towards the total as well as towards that category's minimum.
    """
    unmet: list[str] = []
    if terms.required_credits is not None and totals.total < terms.required_credits:
        missing = terms.required_credits - totals.total
        unmet.append(f"{format_credits(missing)} more credit(s): {format_credits(totals.total)} of "
                     f"{format_credits(terms.required_credits)} approved")
    by_category = {normalise_category(name): amount for name, amount in totals.by_category.items()}
    for category, minimum in sorted(terms.category_minimums.items()):
        have = by_category.get(category, Decimal(0))
        if have < minimum:
            unmet.append(f"{format_credits(minimum - have)} more credit(s) in {category}: {format_credits(have)} of "
                         f"{format_credits(minimum)} approved")
    return unmet
