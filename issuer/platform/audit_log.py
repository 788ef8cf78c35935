"""Reading the audit log: the administrator's filters, and each event told as a sentence with people's names.

The log stores ids and e-mail addresses (``actor_id``, ``subject_id``, ``details``); this module resolves them to
names in a few queries per page (never one per row) and says what happened in plain words, e.g. "Ana Supervisor
issued “Developing” to Ben Therapist". The same rows feed the page and the CSV export.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from issuer.models import AuditEvent, Credential, User
from issuer.platform.database import SessionLike

#: Events read per query when exporting the whole (filtered) log.
EXPORT_BATCH = 500


@dataclass(frozen=True)
class Filters:
    action: str = ""
    actor: str = ""  # the actor's e-mail address, lower case
    start: dt.date | None = None
    end: dt.date | None = None


def query(filters: Filters) -> Select[Any]:
    """Events matching ``filters`` (UTC days, both ends inclusive), unordered."""
    statement = select(AuditEvent)
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.actor:
        statement = statement.join(User, User.id == AuditEvent.actor_id).where(User.email == filters.actor)
    if filters.start:
        statement = statement.where(AuditEvent.at >= dt.datetime.combine(filters.start, dt.time(), tzinfo=dt.UTC))
    if filters.end and filters.end < dt.date.max:  # the last representable day has no upper bound
        statement = statement.where(
            AuditEvent.at < dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    return statement


@dataclass(frozen=True)
class Described:
    event: AuditEvent
    actor_name: str  # "" for the system or an anonymous visitor
    actor_email: str
    sentence: str


@dataclass
class _Names:
    users: dict[int, User]
    by_email: dict[str, User]
    credentials: dict[str, Credential]

    def user(self, user_id: object) -> str | None:
        try:
            found = self.users.get(int(str(user_id)))
        except ValueError:
            return None
        return found.name if found else None

    def email(self, address: object) -> str:
        found = self.by_email.get(str(address or "").lower())
        return found.name if found else str(address or "someone")


def describe(session: SessionLike, events: Sequence[AuditEvent]) -> list[Described]:
    """Each event with its actor's name and a sentence; names and credentials are read in three queries."""
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    user_ids |= {int(e.subject_id) for e in events
                 if e.subject_type == "user" and e.subject_id and e.subject_id.isdigit()}
    emails = {str(e.details.get(k)).lower() for e in events for k in ("therapist", "supervisor", "email")
              if isinstance(e.details, dict) and e.details.get(k)}
    credential_ids = set()
    for e in events:
        if e.subject_type == "credential" and e.subject_id:
            try:
                credential_ids.add(uuid.UUID(e.subject_id))
            except ValueError:
                continue
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    by_email = ({u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
                if emails else {})
    credentials = ({str(c.id): c for c in session.scalars(
        select(Credential).where(Credential.id.in_(credential_ids))
        .options(selectinload(Credential.therapist), selectinload(Credential.level)))} if credential_ids else {})
    names = _Names(users=users, by_email=by_email, credentials=credentials)
    described = []
    for event in events:
        actor = users.get(event.actor_id) if event.actor_id is not None else None
        described.append(Described(event=event, actor_name=actor.name if actor else "",
                                   actor_email=actor.email if actor else "", sentence=sentence(event, names)))
    return described


def export(session: SessionLike, filters: Filters) -> Iterator[Described]:
    """Every matching event, newest first, read in batches (keyset on ``at``, ``id``): memory stays bounded."""
    statement = query(filters)
    last: tuple[dt.datetime, int] | None = None
    while True:
        page = statement
        if last is not None:
            page = page.where((AuditEvent.at < last[0]) | ((AuditEvent.at == last[0]) & (AuditEvent.id < last[1])))
        newest_first = page.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(EXPORT_BATCH)
        events: Sequence[AuditEvent] = session.scalars(newest_first).all()
        if not events:
            return
        yield from describe(session, events)
        last = (events[-1].at, events[-1].id)
        session.expunge_all()  # nothing read so far is needed again


# --- sentences --------------------------------------------------------------------------------------------------


def _quoted(text: object) -> str:
    return f"\u201c{text}\u201d"


def _credential(names: _Names, event: AuditEvent) -> tuple[str, str]:
    """(therapist's name, level label) of the event's credential, or placeholders when it is unknown."""
    credential = names.credentials.get(event.subject_id or "")
    if credential is None:
        return "a therapist", "a"
    return credential.therapist.name, credential.level.label


def _reason(event: AuditEvent) -> str:
    reason = event.details.get("reason")
    return f" (reason: {reason})" if reason else ""


def _minutes(value: object) -> str:
    try:
        minutes = int(str(value))
    except ValueError:
        return f"{value} minutes"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes} minutes"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} hours" if hours != 1 else "1 hour"


def _with_details(event: AuditEvent) -> str:
    details = ", ".join(f"{k}: {v}" for k, v in sorted(event.details.items()) if v not in (None, ""))
    return f" ({details})" if details else ""


@dataclass(frozen=True)
class _Told:
    """What a sentence is made from: the event, its actor's name, and the names resolved for the page."""

    e: AuditEvent
    who: str
    n: _Names


Sentence = Callable[[_Told], str]


def _subject(names: _Names, event: AuditEvent) -> str:
    return names.user(event.subject_id) or f"account {event.subject_id}"


def _whose_credential(t: _Told) -> str:
    """The event's credential, told as "<therapist>'s "<level>" credential"."""
    therapist, level = _credential(t.n, t.e)
    return f"{therapist}\u2019s {_quoted(level)} credential"


def _status_change(verb: str) -> Sentence:
    def told(t: _Told) -> str:
        return f"{t.who} {verb} {_whose_credential(t)}{_reason(t.e)}"
    return told


def _policy_change(verb: str) -> Sentence:
    def told(t: _Told) -> str:
        level = t.e.details.get("level")
        of_level = f" {_quoted(level)}" if level else ""
        return f"{t.who} {verb} the renewal policy of {t.e.details.get('framework')}{of_level}"
    return told


def _issued(t: _Told) -> str:
    therapist = t.n.email(t.e.details.get("therapist")) if t.e.details.get("therapist") else _credential(t.n, t.e)[0]
    override = " by override" if t.e.details.get("override") else ""
    return f"{t.who} issued {_quoted(t.e.details.get('level') or _credential(t.n, t.e)[1])} to {therapist}{override}"


def _password_changed(t: _Told) -> str:
    subject = _subject(t.n, t.e)
    if t.e.actor_id is None:
        return f"The password of {subject}\u2019s account was changed"
    if str(t.e.actor_id) == t.e.subject_id:
        return f"{t.who} changed their password"
    return f"{t.who} changed {subject}\u2019s password"


def _failed_login(t: _Told) -> str:
    if t.e.actor_id is not None:
        return f"A sign-in to {t.who}\u2019s account failed"
    return f"A sign-in failed for {t.e.details.get('email') or 'an unknown address'}, which has no account"


def _visibility(t: _Told) -> str:
    _, level = _credential(t.n, t.e)
    return f"{t.who} made their {_quoted(level)} credential {'public' if t.e.details.get('public') else 'private'}"


def _reissued(t: _Told) -> str:
    return (f"{t.who} issued a new copy of {_whose_credential(t)}, replacing one signed by revoked key "
            f"{t.e.details.get('revoked_key')}")


SENTENCES: dict[str, Sentence] = {
    "account.created": lambda t: (
        f"{t.who} created the {t.e.details.get('role', '')} account of {_subject(t.n, t.e)}" if t.e.actor_id is not None
        else f"The {t.e.details.get('role', '')} account of {_subject(t.n, t.e)} was created"),
    "account.invited": lambda t: (
        f"{t.who} invited {t.e.details.get('name')} ({t.e.details.get('email')}) as {t.e.details.get('role')}"),
    "account.invitation_resent": lambda t: f"{t.who} sent a new invitation link to {t.e.details.get('email')}",
    "account.invitation_revoked": lambda t: f"{t.who} withdrew the invitation for {t.e.details.get('email')}",
    "account.invitation_accepted": lambda t: f"{t.who} accepted their invitation and opened their account",
    "account.password_reset_requested": lambda t: (
        f"A password reset link was sent to {_subject(t.n, t.e)}\u2019s address"),
    "account.password_reset": lambda t: f"{t.who} chose a new password with a reset link",
    "account.password_changed": _password_changed,
    "account.activated": lambda t: f"{t.who} activated {_subject(t.n, t.e)}\u2019s account",
    "account.deactivated": lambda t: (
        f"{t.who} deactivated {_subject(t.n, t.e)}\u2019s account"
        + (" from the command line" if t.e.details.get("via") == "cli" else "")),
    "assignment.created": lambda t: (
        f"{t.who} assigned {t.n.email(t.e.details.get('therapist'))} to {t.n.email(t.e.details.get('supervisor'))}"),
    "assignment.removed": lambda t: (
        f"{t.who} removed {t.n.email(t.e.details.get('therapist'))} from "
        f"{t.n.email(t.e.details.get('supervisor'))}\u2019s therapists"),
    "bulk.started": lambda t: (
        f"{t.who} started bulk issuance job {t.e.subject_id}: {t.e.details.get('rows')} rows, "
        f"{t.e.details.get('pending')} to issue"),
    "bulk.finished": lambda t: (
        f"Bulk issuance job {t.e.subject_id} (started by {t.who}) finished: {t.e.details.get('issued')} issued, "
        f"{t.e.details.get('skipped')} skipped, {t.e.details.get('failed')} failed"),
    "credential.issued": _issued,
    "credential.issued_via_vcapi": lambda t: f"{t.who} issued credential {t.e.subject_id} through the VC API",
    "credential.reissued": _reissued,
    "credential.revoked": _status_change("revoked"),
    "credential.suspended": _status_change("suspended"),
    "credential.unsuspended": _status_change("lifted the suspension of"),
    "credential.visibility": _visibility,
    "framework.imported": lambda t: f"{t.who} imported the framework {t.e.subject_id}",
    "keys.rotated": lambda t: f"{t.who} rotated the signing keys; the new keys are {t.e.subject_id}",
    "keys.revoked": lambda t: f"{t.who} revoked key {t.e.subject_id}{_reason(t.e)}",
    "keys.reissued": lambda t: (
        f"{t.who} issued new copies of {t.e.details.get('reissued')} credential(s) signed by revoked key "
        f"{t.e.subject_id}"),
    "login.succeeded": lambda t: f"{t.who} signed in",
    "login.failed": _failed_login,
    "login.signed_out": lambda t: f"{t.who} signed out",
    "profile.updated": lambda t: (
        f"{t.who} updated their profile (public page {'on' if t.e.details.get('public') else 'off'})"),
    "setting.changed": lambda t: f"{t.who} set {t.e.subject_id} to {t.e.details.get('value')}",
    "statement.marked": lambda t: f"{t.who} recorded a statement as shown by {_subject(t.n, t.e)}",
    "statement.undone": lambda t: f"{t.who} withdrew a statement recorded for {_subject(t.n, t.e)}{_reason(t.e)}",
    "token.created": lambda t: f"{t.who} created the API token {_quoted(t.e.details.get('name'))}",
    "token.revoked": lambda t: f"{t.who} revoked API token {t.e.subject_id}",
    "credential.renewed": lambda t: (
        f"{t.who} renewed {t.n.email(t.e.details.get('therapist'))}\u2019s {_quoted(t.e.details.get('level'))} "
        f"credential for the next cycle ({t.e.details.get('credits')} credits)"),
    "credential.delivered": lambda t: f"A wallet ({t.e.details.get('holder')}) received {_whose_credential(t)}",
    "credential.delivery_revoked": lambda t: f"{t.who} revoked a wallet copy of {_whose_credential(t)}{_reason(t.e)}",
    "ce.recorded": lambda t: (
        f"{t.who} recorded {_minutes(t.e.details.get('minutes'))} of continuing education"
        f"{' (' + str(t.e.details.get('category')) + ')' if t.e.details.get('category') else ''} "
        f"for {_subject(t.n, t.e)}"),
    "ce.approved": lambda t: f"{t.who} approved a continuing education activity of {_subject(t.n, t.e)}",
    "ce.returned": lambda t: (
        f"{t.who} returned a continuing education activity to {_subject(t.n, t.e)}{_reason(t.e)}"),
    "hours.logged": lambda t: (
        f"{t.who} logged {_minutes(t.e.details.get('minutes'))} of supervised practice for {_subject(t.n, t.e)}"),
    "policy.set": _policy_change("set"),
    "policy.removed": _policy_change("removed"),
    "qualification.recorded": lambda t: (
        f"{t.who} recorded {_subject(t.n, t.e)}\u2019s qualification {t.e.details.get('credential')}"),
    "qualification.withdrawn": lambda t: f"{t.who} withdrew a qualification of {_subject(t.n, t.e)}",
    "trust.added": lambda t: f"{t.who} added {t.e.details.get('name')} ({t.e.subject_id}) to the trust list",
    "trust.removed": lambda t: f"{t.who} removed {t.e.details.get('name')} ({t.e.subject_id}) from the trust list",
    "trust.registry_imported": lambda t: (
        f"{t.who} imported the issuer registry {t.e.subject_id}: {t.e.details.get('added')} added, "
        f"{t.e.details.get('updated')} updated, {t.e.details.get('unchanged')} unchanged"),
}


def sentence(event: AuditEvent, names: _Names) -> str:
    """What happened, in one sentence (an action this module does not know is told with its details)."""
    who = names.user(event.actor_id) if event.actor_id is not None else None
    told = SENTENCES.get(event.action)
    if told is None:
        return f"{who or 'The system'}: {event.action}{_with_details(event)}."
    return told(_Told(event, who or "The system", names)) + "."
