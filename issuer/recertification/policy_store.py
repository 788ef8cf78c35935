"""Setting and removing validity policies (the administrator's page and its audit events). Flushes only.

A policy changes what is issued from then on (new credentials and renewals): a credential's validUntil is signed
into it, so credentials already issued keep theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from issuer.errors import InvalidInput, NotFound
from issuer.models import Framework, Level, User, ValidityPolicy, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.recertification import policy


@dataclass(frozen=True)
class PolicyInput:
    """What an administrator typed, as text (empty: not set)."""

    validity_months: str = ""
    required_credits: str = ""
    category_minimums: str = ""
    minutes_per_credit: str = ""
    supervised_hours: str = ""
    reminder_days: str = ""


def _whole(text: str, what: str, field: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high} (got {text[:40]!r})", field=field)
    return int(text)


def parse_minimums_text(text: str) -> dict[str, Decimal]:
    """``"ethics: 3, research: 2"`` (or one per line, or a JSON object) -> ``{"ethics": 3.00, "research": 2.00}``."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        return policy.parse_category_minimums(text)
    pairs: dict[str, str] = {}
    for raw_entry in text.replace("\n", ",").split(","):
        entry = raw_entry.strip()
        if not entry:
            continue
        name, sep, amount = entry.rpartition(":")
        if not sep or not name.strip():
            raise ValueError(f"write each category minimum as 'category: credits' (got {entry[:60]!r})")
        if name.strip() in pairs:
            raise ValueError(f"the category {policy.normalise_category(name)!r} is named twice")
        pairs[name.strip()] = amount.strip()
    return policy.parse_category_minimums(pairs)


def parse_input(data: PolicyInput) -> policy.PolicyTerms:
    """Check an administrator's input. :raise InvalidInput: naming the field and what is wrong."""
    months = _whole(data.validity_months, "Validity (months)", "validity_months", 1, policy.MAX_VALIDITY_MONTHS)
    rate = _whole(data.minutes_per_credit, "Minutes per credit", "minutes_per_credit", 1,
                  policy.MAX_MINUTES_PER_CREDIT)
    hours = _whole(data.supervised_hours, "Supervised clinical hours", "supervised_hours", 1,
                   policy.MAX_SUPERVISED_MINUTES // 60)
    try:
        credits_required = (policy.parse_credits(data.required_credits, "Required credits")
                            if data.required_credits.strip() else None)
    except ValueError as error:
        raise InvalidInput(str(error), field="required_credits") from None
    try:
        minimums = parse_minimums_text(data.category_minimums)
    except ValueError as error:
        raise InvalidInput(f"Category minimums: {error}", field="category_minimums") from None
    try:
        reminders = policy.parse_reminder_days(data.reminder_days)
    except ValueError as error:
        raise InvalidInput(f"Reminder days: {error}", field="reminder_days") from None
    if months is None and (credits_required is not None or minimums):
        raise InvalidInput("Credits are required for renewal, so the policy needs a validity period too: set "
                           "Validity (months), or leave the credits empty", field="validity_months")
    if months is None and reminders:
        raise InvalidInput("Reminders are sent before a credential expires: set Validity (months), or leave "
                           "Reminder days empty", field="reminder_days")
    if months is not None and reminders and max(reminders) > months * 31:
        raise InvalidInput(f"A reminder {max(reminders)} days ahead is longer than the validity period",
                           field="reminder_days")
    return policy.PolicyTerms(
        validity_months=months, required_credits=credits_required, category_minimums=minimums,
        minutes_per_credit=rate or policy.DEFAULT_MINUTES_PER_CREDIT,
        min_supervised_minutes=hours * 60 if hours is not None else None, reminder_days=reminders,
    )


def framework_or_404(session: SessionLike, framework_id: int) -> Framework:
    framework = session.get(Framework, framework_id)
    if framework is None:
        raise NotFound("No such framework.")
    return framework


def level_of(session: SessionLike, framework: Framework, level_id: int | None) -> Level | None:
    """The level ``level_id`` of ``framework`` (None: the framework itself). :raise NotFound: not one of its levels."""
    if level_id is None:
        return None
    level = session.get(Level, level_id)
    if level is None or level.framework_id != framework.id:
        raise NotFound(f"No such level in {framework.name}.")
    return level


def stored_policy(session: SessionLike, framework: Framework, level: Level | None, *,
                  lock: bool = False) -> ValidityPolicy | None:
    """The policy set on ``framework`` itself (``level`` None) or on ``level``, locked for a change if asked."""
    query = select(ValidityPolicy).where(ValidityPolicy.framework_id == framework.id)
    query = query.where(ValidityPolicy.level_id == level.id if level is not None else ValidityPolicy.level_id.is_(None))
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def describe(terms: policy.PolicyTerms) -> dict[str, object]:
    """The terms as the audit log records them."""
    return {
        "validity_months": terms.validity_months,
        "required_credits": str(terms.required_credits) if terms.required_credits is not None else None,
        "category_minimums": {k: str(v) for k, v in terms.category_minimums.items()},
        "minutes_per_credit": terms.minutes_per_credit,
        "min_supervised_minutes": terms.min_supervised_minutes,
        "reminder_days": list(terms.reminder_days),
    }


def set_policy(session: SessionLike, *, framework: Framework, level: Level | None, data: PolicyInput,
               actor: User) -> ValidityPolicy:
    """Create or replace the policy of ``framework`` (``level`` None) or of ``level``. Audited (``policy.set``).

    :raise InvalidInput: the input, field by field. :raise NotFound: the level is not the framework's.
    """
    if level is not None and level.framework_id != framework.id:
        raise NotFound(f"No such level in {framework.name}.")
    terms = parse_input(data)
    row = stored_policy(session, framework, level, lock=True)
    if row is None:
        row = ValidityPolicy(framework_id=framework.id, level_id=level.id if level is not None else None)
        session.add(row)
    row.validity_months = terms.validity_months
    row.required_credits = terms.required_credits
    row.category_minimums = json.dumps({k: str(v) for k, v in terms.category_minimums.items()}, sort_keys=True)
    row.minutes_per_credit = terms.minutes_per_credit
    row.min_supervised_minutes = terms.min_supervised_minutes
    row.reminder_days = ",".join(str(d) for d in terms.reminder_days)
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    audit.record(session, "policy.set", actor=actor, subject_type="level" if level is not None else "framework",
                 subject_id=level.id if level is not None else framework.id, framework=framework.slug,
                 level=level.label if level is not None else None, **describe(terms))
    session.flush()
    return row


def remove_policy(session: SessionLike, *, framework: Framework, level: Level | None, actor: User) -> None:
    """Remove a policy: the level then follows its framework's policy, a framework none. Audited (``policy.removed``).

    :raise NotFound: there is no such policy.
    """
    row = stored_policy(session, framework, level, lock=True)
    if row is None:
        raise NotFound("There is no policy to remove here.")
    session.delete(row)
    audit.record(session, "policy.removed", actor=actor, subject_type="level" if level is not None else "framework",
                 subject_id=level.id if level is not None else framework.id, framework=framework.slug,
                 level=level.label if level is not None else None)
    session.flush()
