"""The therapist's whole learning record as one CLR 2.0 ``ClrCredential``.

Built on demand, so it is always current (a level completed a minute ago is
in it). It holds every level credential of the therapist that is valid now,
each with its own proof (``verifiableCredential``), the Achievements of every
statement met so far, and which level each statement belongs to
(``association``). The whole is signed like any credential: a Data Integrity
proof and a VC-JWT.

Only credentials valid now go in: a revoked, suspended, expired or superseded
one would make the signed record claim what is no longer true (a verifier that
checks only the outer proof would accept it). ``clr_contents`` says which were
left out and why, in words the therapist's page shows before the download.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from issuer.credentials.credential import format_datetime, identity_hash
from issuer.credentials.dates import readable_date
from issuer.errors import Conflict
from issuer.frameworks import achievements
from issuer.identity.profile import base_url, issuer_profile
from issuer.issuance import signing
from issuer.issuance.completion import credential_url
from issuer.learning import record_book
from issuer.models import Credential, Framework, Level, User
from issuer.platform.database import SessionLike
from issuer.recertification import hours, ledger
from issuer.recertification.policy import format_credits

CLR_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
]
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"


def _with_reason(words: str, reason: str | None) -> str:
    return f"{words}: {reason}" if reason else words


def left_out_because(credential: Credential, now: dt.datetime, *, renewed: bool = False) -> tuple[str, str] | None:
    """Why ``credential`` is not valid now: (``superseded`` | ``revoked`` | ``suspended`` | ``expired`` |
    ``not-yet-valid``, the same in plain words with the date and reason). None: it is valid now.

    ``renewed``: it was superseded by a renewal for the next cycle (``issuer.recertification.renewal``), which leaves
    it valid until its own validUntil, when the renewal's validity begins; so it counts as any other until then."""
    if credential.superseded_at is not None and not renewed:
        return "superseded", (f"replaced on {readable_date(credential.superseded_at)} by a newer credential for the "
                              "same level")
    if credential.revoked_at is not None:
        return "revoked", _with_reason(f"revoked on {readable_date(credential.revoked_at)}",
                                       credential.revocation_reason)
    if credential.suspended_at is not None:
        return "suspended", _with_reason(f"suspended since {readable_date(credential.suspended_at)}",
                                         credential.suspension_reason)
    if credential.valid_until is not None and credential.valid_until <= now:
        return "expired", f"expired on {readable_date(credential.valid_until)}"
    if credential.valid_from > now:
        return "not-yet-valid", f"not valid before {readable_date(credential.valid_from)}"
    return None


@dataclass(frozen=True)
class LeftOut:
    """A credential of the therapist that the CLR leaves out, and why (``kind``: see ``left_out_because``)."""

    credential: Credential
    kind: str
    why: str

    @property
    def name(self) -> str:
        return f"{self.credential.level.framework.title}: {self.credential.level.label}"


@dataclass(frozen=True)
class ClrContents:
    """The therapist's credentials split into those valid now (the CLR holds them) and those left out."""

    included: list[Credential]
    left_out: list[LeftOut]


def clr_contents(session: SessionLike, therapist: User, *, now: dt.datetime) -> ClrContents:
    """Which of ``therapist``'s credentials a CLR made at ``now`` holds, and which it leaves out and why (both in
    level order)."""
    included: list[Credential] = []
    left_out: list[LeftOut] = []
    credentials = session.scalars(
        select(Credential).join(Level, Level.id == Credential.level_id).filter(Credential.therapist_id == therapist.id)
        .order_by(Level.framework_id, Level.position, Credential.issued_at, Credential.id)
    ).all()
    renewed = {credential.renews_id for credential in credentials if credential.renews_id is not None}
    for credential in credentials:
        because = left_out_because(credential, now, renewed=credential.id in renewed)
        if because is None:
            included.append(credential)
        else:
            left_out.append(LeftOut(credential, *because))
    return ClrContents(included, left_out)


def left_out_header(contents: ClrContents) -> str:
    """The ``Clr-Left-Out`` header of a CLR download: ``<credential URL>; reason=kind`` per credential left out,
    comma-separated (ASCII only: the reasons in words, free text, are on the page)."""
    return ", ".join(f"<{credential_url(item.credential.id)}>; reason={item.kind}" for item in contents.left_out)


class NothingValid(Conflict):
    """The therapist has no credential valid now: CLR 2.0 needs at least one (``verifiableCredential`` 1..*)."""

    code = "no_valid_credential"


def nothing_valid_message(contents: ClrContents) -> str:
    message = "There is no credential valid now to put in a learning record (a CLR holds at least one)"
    if contents.left_out:
        message += "; left out: " + "; ".join(f"{item.name} ({item.why})" for item in contents.left_out)
    return message + "."


def build_clr(session: SessionLike, therapist: User, *, now: dt.datetime,
              contents: ClrContents | None = None) -> dict[str, Any]:
    """The unsigned ClrCredential for ``therapist``: the credentials valid at ``now`` (``clr_contents``).

    :raise NothingValid: no credential is valid now.
    """
    contents = contents if contents is not None else clr_contents(session, therapist, now=now)
    if not contents.included:
        raise NothingValid(nothing_valid_message(contents))
    credentials = contents.included
    met = record_book.met_statements(session, therapist)
    profile = issuer_profile()
    statement_achievements: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    frameworks = session.scalars(select(Framework).order_by(Framework.id)).all()
    for framework in frameworks:
        for level in framework.levels:
            level_id = achievements.achievement_url(base_url(), level.achievement_id)
            for statement in level.statements:
                if statement.id not in met:
                    continue
                achievement = achievements.statement_achievement(statement, base_url=base_url(), creator=profile)
                statement_achievements.append(achievement)
                associations.append({"type": "Association", "associationType": "isChildOf",
                                     "sourceId": achievement["id"], "targetId": level_id})
    subject: dict[str, Any] = {
        "id": therapist.subject_urn,  # the id every level credential inside names too
        "type": ["ClrSubject"],
        "identifier": [{
            "type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
            "identityHash": identity_hash(therapist.email, therapist.recipient_salt), "salt": therapist.recipient_salt,
        }],
        "verifiableCredential": [json.loads(c.document) for c in credentials],
    }
    ce_achievements = continuing_education_achievements(session, therapist)
    if statement_achievements or ce_achievements:
        subject["achievement"] = statement_achievements + ce_achievements
    if associations:
        subject["association"] = associations
    total_levels = sum(len(f.levels) for f in frameworks)
    evidence = [e for e in (hours.hours_evidence(session, therapist.id),) if e is not None]
    clr: dict[str, Any] = {
        "@context": CLR_CONTEXTS,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": profile,
        "name": f"Learning record of {therapist.name}",
        "description": (f"Every competency statement {therapist.name} has shown under clinical supervision, "
                        f"and every level credential valid on {now:%d %B %Y} (revoked, suspended, expired and "
                        "replaced credentials are left out)."),
        "validFrom": format_datetime(now),
        "awardedDate": format_datetime(now),
        "partial": len(credentials) < total_levels,
        "credentialSubject": subject,
        "credentialSchema": [{"id": CLR_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if evidence:
        clr["evidence"] = evidence
    return clr


#: A continuing-education activity's Achievement type: OB 3.0's AchievementType has no member for it (a workshop or
#: conference session is not a Course); an extension value is the spec's way to name one.
CE_ACHIEVEMENT_TYPE = "ext:ContinuingEducation"


def continuing_education_achievements(session: SessionLike, therapist: User) -> list[dict[str, Any]]:
    """One Achievement per approved continuing-education activity, oldest first: what it was, who provided it,
    when, its minutes and credits (``creditsAvailable``), its category (``tag``) and who approved it. Its ``id`` is a
    ``urn:uuid`` derived from this service and the activity, the same in every CLR."""
    activities = ledger.activities_of(session, therapist.id, states=[ledger.APPROVED])
    found = []
    for activity in reversed(activities):
        amount = ledger.credits_of(activity)
        approver = activity.decided_by.name if activity.decided_by else "an administrator"
        decided = activity.decided_at.date().isoformat() if activity.decided_at else "?"
        item: dict[str, Any] = {
            "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url()}/continuing-education/{activity.id}')}",
            "type": ["Achievement"],
            "achievementType": CE_ACHIEVEMENT_TYPE,
            "name": activity.title,
            "description": (f"Continuing education provided by {activity.provider} on "
                            f"{activity.activity_on.isoformat()}: {activity.minutes} minutes, "
                            f"{format_credits(amount)} credit(s) in {ledger.category_label(activity.category)}."
                            + (f" Evidence: {activity.evidence_url}" if activity.evidence_url else "")),
            "criteria": {"narrative": f"Approved for continuing-education credit by {approver} on {decided}."},
            "creditsAvailable": float(amount),
            "tag": [ledger.category_label(activity.category)],
        }
        found.append(item)
    return found


def signed_clr(session: SessionLike, therapist: User, *, now: dt.datetime,
               contents: ClrContents | None = None) -> signing.Signed:
    """Build, sign and record a CLR: the verifier accepts only what is on this service's record. Flushes.

    :raise NothingValid: no credential is valid now (nothing is signed or recorded).
    """
    unsigned = build_clr(session, therapist, now=now, contents=contents)
    signed = signing.sign(session, unsigned, now=now, schema_name="clrcredential")
    signing.record_issued(session, signed, kind="clr", subject=therapist, now=now)
    return signed
