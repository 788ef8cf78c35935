"""Renewal: once a cycle's continuing-education requirements are met, a new credential for the next cycle.

The renewal is a new OB 3.0 credential of the same level for the same therapist, with its own id, status-list
entries and proof:

- **Dates.** ``validFrom`` is the previous credential's ``validUntil``, or now if that has passed (a renewal after
  a lapse starts when it is issued); ``validUntil`` is ``validFrom`` plus the policy's months
  (``policy.valid_until_for``).
- **Evidence.** One Evidence per approved continuing-education activity of the previous cycle (title, provider,
  date, credits, category), a summary of the credits, and an Evidence whose ``id`` is the previous credential's
  public URL. ``credentialSubject.creditsEarned`` is the cycle's approved credits.
- **The link a third party can follow.** VC Data Model 2.0 ``relatedResource`` (defined by the VC 2.0 context,
  section 5.3 "Integrity of Related Resources"): the previous credential's JSON URL
  (``/credentials/<uuid>.json``, which serves its stored bytes exactly), with ``digestSRI`` (SHA-384) and
  ``digestMultibase`` (a multibase base64url SHA-256 multihash) of those bytes and its ``mediaType``. A verifier
  fetches the URL, checks the digest, and verifies the previous credential in turn. Both are covered by the
  renewal's own proof.
- **The previous credential** is superseded, not revoked: it stays valid until its own ``validUntil`` (the two
  cycles do not overlap), and the database's "one current credential per therapist and level" index moves to the
  renewal. ``Credential.renews_id`` records the link on our side.

Refused, with what is wrong: an actor who is neither an administrator nor the therapist's assigned supervisor
(403); a credential already renewed or re-issued, revoked, suspended, or whose cycle has not begun (409); a policy
with no validity period, or requirements not met (422, listing what is missing).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import select

from issuer.accounts import assignments
from issuer.errors import Conflict, IssuerError, NotFound, PermissionDenied
from issuer.identity.profile import base_url, issuer_profile
from issuer.issuance import completion, notices, signing
from issuer.models import Credential, CreditActivity, Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike
from issuer.recertification import ledger, policy

#: The media type the previous credential's JSON URL serves (``issuer.web.credentials.download``).
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


class RenewalRefused(IssuerError):
    """The credential cannot be renewed as things stand (422): ``missing`` says what is lacking."""

    status_code = 422
    code = "renewal_requirements_not_met"

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message, missing=missing or [])
        self.missing = missing or []


def previous_url(credential: Credential) -> str:
    """The URL of a credential's exact stored bytes."""
    return f"{base_url()}/credentials/{credential.id}.json"


def digest_sri(data: bytes) -> str:
    """Subresource Integrity string (W3C SRI): ``sha384-`` and the base64 SHA-384 of ``data``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def digest_multibase(data: bytes) -> str:
    """Multibase (``u``: base64url, no padding) of the SHA-256 multihash (0x12, 32 bytes) of ``data``."""
    multihash = bytes([0x12, 0x20]) + hashlib.sha256(data).digest()
    return "u" + base64.urlsafe_b64encode(multihash).decode("ascii").rstrip("=")


def related_resource(credential: Credential) -> dict[str, Any]:
    data = credential.document.encode("utf-8")
    return {"id": previous_url(credential), "mediaType": CREDENTIAL_MEDIA_TYPE,
            "digestSRI": digest_sri(data), "digestMultibase": digest_multibase(data)}


def may_renew(session: SessionLike, actor: User, credential: Credential) -> bool:
    """Administrators, and supervisors assigned to the credential's therapist (active accounts)."""
    if not actor.active:
        return False
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.SUPERVISOR and assignments.is_assigned(session, supervisor=actor,
                                                                     therapist=credential.therapist)


@dataclass(frozen=True)
class RenewalCheck:
    """Where a credential stands for renewal: its policy, cycle, approved credits, and what is missing."""

    terms: policy.PolicyTerms
    cycle: policy.Cycle
    totals: policy.CreditTotals
    missing: list[str]
    #: Why it cannot be renewed at all (superseded, revoked, …), else None; and the answer's HTTP status
    #: (409: the credential's state; 422: its policy sets no validity period).
    blocked: str | None
    blocked_status: int = Conflict.status_code
    #: The current credential that replaced this one, when it was renewed or re-issued.
    successor_id: uuid.UUID | None = None

    @property
    def ready(self) -> bool:
        return self.blocked is None and not self.missing


def _successor(session: SessionLike, credential: Credential) -> uuid.UUID | None:
    return session.scalar(select(Credential.id).where(
        Credential.therapist_id == credential.therapist_id, Credential.level_id == credential.level_id,
        Credential.superseded_at.is_(None)))


def check(session: SessionLike, credential: Credential, *, now: dt.datetime | None = None) -> RenewalCheck:
    """Where ``credential`` stands for renewal at ``now`` (nothing is written)."""
    now = now or utcnow()
    terms = policy.policy_for(session, credential.level)
    cycle = policy.cycle_for(credential)
    totals = ledger.credit_totals(session, credential.therapist_id, cycle)
    missing = policy.requirements_met(terms, totals)
    blocked = None
    blocked_status = Conflict.status_code
    successor = None
    if credential.superseded_at is not None:
        successor = _successor(session, credential)
        blocked = "this credential was already renewed or re-issued" + (
            f": the current one is {completion.credential_url(successor)}" if successor else "")
    elif credential.revoked_at is not None:
        blocked = "this credential is revoked; a revoked credential is not renewed"
    elif credential.suspended_at is not None:
        blocked = "this credential is suspended; reinstate it before renewing it"
    elif not credential.therapist.active:
        blocked = "the therapist's account is deactivated"
    elif credential.valid_from > now:
        blocked = "this credential's cycle has not begun yet: it is renewed during or after its own cycle"
    elif not terms.expires or credential.valid_until is None:
        blocked = (f"credentials of {credential.level.label} do not expire (no validity period in its policy): "
                   "there is nothing to renew")
        blocked_status = RenewalRefused.status_code
    return RenewalCheck(terms=terms, cycle=cycle, totals=totals, missing=missing, blocked=blocked,
                        blocked_status=blocked_status, successor_id=successor)


def activity_evidence(activity: CreditActivity) -> dict[str, Any]:
    amount = policy.format_credits(ledger.credits_of(activity))
    decided = f", approved by {activity.decided_by.name}" if activity.decided_by is not None else ""
    return {
        "type": ["Evidence"],
        "name": activity.title,
        "description": f"{activity.provider}, {activity.activity_on.isoformat()}: {amount} credit(s) in "
                       f"{ledger.category_label(activity.category)} ({activity.minutes} minutes){decided}.",
        "genre": "Continuing education",
        "audience": "Employers and credentialing bodies",
    }


def _summary_evidence(totals: policy.CreditTotals, terms: policy.PolicyTerms, cycle: policy.Cycle,
                      tz: dt.tzinfo) -> dict[str, Any]:
    categories = ", ".join(f"{ledger.category_label(name)} {policy.format_credits(amount)}"
                           for name, amount in sorted(totals.by_category.items()))
    required = (f" (required: {policy.format_credits(terms.required_credits)})"
                if terms.required_credits is not None else "")
    last = cycle.last_day(tz)
    return {
        "type": ["Evidence"],
        "name": "Continuing-education credits of the cycle",
        "description": f"{policy.format_credits(totals.total)} approved credits{required} in the cycle from "
                       f"{cycle.first_day(tz).isoformat()} to {last.isoformat() if last else 'now'}"
                       f"{': ' + categories if categories else ''}; one credit is {terms.minutes_per_credit} minutes.",
        "genre": "Continuing education summary",
    }


def _previous_evidence(previous: Credential, document: dict[str, Any]) -> dict[str, Any]:
    until = previous.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ") if previous.valid_until else "no end"
    return {
        "id": completion.credential_url(previous.id),
        "type": ["Evidence"],
        "name": f"Previous credential: {document.get('name', previous.level.label)}",
        "description": f"Valid from {previous.valid_from.strftime('%Y-%m-%dT%H:%M:%SZ')} until {until}. This "
                       "credential renews it for the next cycle; relatedResource carries its digest.",
        "genre": "Previous credential",
    }


def _day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """00:00 of ``day`` in the service's time zone, as a UTC instant (OB 3.0's activity dates are dateTimes)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def renew(session: SessionLike, *, credential_id: uuid.UUID, actor: User, now: dt.datetime | None = None) -> Credential:
    """Issue the renewal of ``credential_id`` for the next cycle. Flushes only; the notice goes after the commit.

    :raise NotFound: no such credential. :raise PermissionDenied: not an administrator or assigned supervisor.
    :raise Conflict: already renewed or re-issued, revoked, suspended, not begun. :raise RenewalRefused: the policy
    sets no validity, or its requirements are not met (``missing``).
    """
    now = now or utcnow()
    # Lock the row, and read it again: of two renewals at once the second sees the first's supersession.
    previous = session.scalars(select(Credential).where(Credential.id == credential_id)
                               .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if previous is None:
        raise NotFound("no credential with that id")
    if not may_renew(session, actor, previous):
        raise PermissionDenied("only an administrator or the therapist's assigned supervisor can renew a credential")
    completion.check_clock(session, now)
    standing = check(session, previous, now=now)
    if standing.blocked is not None or previous.valid_until is None:
        message = standing.blocked or "this credential does not expire: there is nothing to renew"
        if standing.blocked_status == Conflict.status_code:
            raise Conflict(message, successor=str(standing.successor_id) if standing.successor_id else None)
        raise RenewalRefused(message)
    if standing.missing:
        raise RenewalRefused("the continuing-education requirements for renewal are not met: "
                             + "; ".join(standing.missing), standing.missing)

    valid_from = max(previous.valid_until, now)
    valid_until = policy.valid_until_for(standing.terms, valid_from)
    tz = policy.service_timezone()
    activities = ledger.approved_activities(session, previous.therapist_id, standing.cycle)
    therapist, level = previous.therapist, previous.level
    profile = issuer_profile()
    parts = completion.level_parts(level, profile)
    document = completion.credential_document(previous)
    evidence = [activity_evidence(a) for a in activities]
    evidence += [_summary_evidence(standing.totals, standing.terms, standing.cycle, tz),
                 _previous_evidence(previous, document)]
    link = related_resource(previous)
    # The period of the continuing education the renewal rests on: its first and last approved activity's days.
    first_activity = _day_start(activities[0].activity_on, tz) if activities else None
    last_activity = _day_start(activities[-1].activity_on, tz) if activities else None
    last = policy.Cycle(valid_from, valid_until).last_day(tz)
    new_id = uuid.uuid4()

    def build(status: list[dict[str, Any]]) -> dict[str, Any]:
        unsigned = signing.build_achievement_credential(
            credential_id=completion.credential_url(new_id), issuer=profile, achievement=parts.achievement,
            recipient_email=therapist.email, salt=therapist.recipient_salt, recipient_did=None,
            subject_id=therapist.subject_urn, name=f"{parts.framework_title}: {parts.label}",
            description=f"{therapist.name} has renewed the {parts.label} credential of the {parts.framework_name} "
                        f"{parts.framework_version} for the cycle from {valid_from.astimezone(tz).date().isoformat()}"
                        f" to {last.isoformat() if last else 'no end'}, with "
                        f"{policy.format_credits(standing.totals.total)} approved continuing-education credits.",
            valid_from=valid_from, valid_until=valid_until, evidence=evidence, credential_status=status,
            awarded_date=now, activity_start_date=first_activity, activity_end_date=last_activity,
        )
        unsigned["credentialSubject"]["creditsEarned"] = float(standing.totals.total)
        unsigned["relatedResource"] = [link]
        return unsigned

    # One current credential per (therapist, level) is a unique index: the previous one stops being current first.
    previous.superseded_at = now
    session.flush()
    renewed = completion.sign_and_record(
        session, credential_id=new_id, build=build, therapist=therapist, level=level,
        completion_id=previous.completion_id, issued_by=actor, valid_from=valid_from, valid_until=valid_until,
        now=now, public=previous.public,
    )
    renewed.renews_id = previous.id
    audit.record(session, "credential.renewed", actor=actor, subject_type="credential", subject_id=new_id,
                 renews=str(previous.id), therapist=therapist.email, level=level.label,
                 credits=str(standing.totals.total), activities=len(activities))
    session.flush()
    notices.queue(session, renewal_message(renewed, previous, total=standing.totals.total),
                  about=f"renewal {new_id}")
    return renewed


def renewal_message(renewed: Credential, previous: Credential, *, total: Decimal) -> Message:
    level = renewed.level
    base = base_url()
    tz = policy.service_timezone()
    until = renewed.valid_until.astimezone(tz).date().isoformat() if renewed.valid_until else "no end"
    return notices.notice_for(renewed, f"Your {level.framework.title}: {level.label} credential is renewed", (
        f"Dear {renewed.therapist.name},\n\n"
        f"{current_app.config['ISSUER_NAME']} has renewed your {level.label} credential of the "
        f"{level.framework.name} {level.framework.version} for the next cycle, with "
        f"{policy.format_credits(total)} approved continuing-education credits. The renewal is valid from "
        f"{renewed.valid_from.astimezone(tz).date().isoformat()} until {until}.\n\n"
        f"Your renewed credential: {base}/credentials/{renewed.id}\n"
        f"It names the credential it renews ({base}/credentials/{previous.id}), which stays valid until its own end "
        f"date. If you shared the previous one (a wallet, LinkedIn), add the renewed one too.\n"
    ))
