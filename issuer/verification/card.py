"""The result card an employer reads first: who holds the credential, what it certifies, who issued it, and whether
it stands; the technical checks come after it.

A card is built from what can be relied on, never from what an unverified document says of itself:

* a credential issued here: this service's record of it (recipient as named at issuance, the level and its
  statements, the dates, the public status reason);
* another issuer's credential: its content, but only once every check has passed, and its issuer under the name
  the trust list gives it.

When verification fails, the card's heading says in plain words what failed (``results.explain``) and what to do
next; the name the document gives itself is kept apart as a claim, never as a heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from sqlalchemy import func, select

from issuer.credentials.dates import readable_date
from issuer.credentials.digest import document_digest
from issuer.credentials.vc_jwt import parse_datetime
from issuer.frameworks import catalogue
from issuer.identity.profile import issuer_did
from issuer.models import Credential, Level
from issuer.platform.cache import app_cache
from issuer.platform.database import SessionLike
from issuer.verification import recipient, registry
from issuer.verification.results import DISPLAY_LIMIT, Failure, Verification, display_field, explain
from issuer.verification.standing import Standing, standing_of
from issuer.verification.verifier import IssuedRecord

#: Checks whose failure means the document's content cannot be relied on at all.
_CONTENT_CHECKS = ("format", "schema", "context", "proof", "issuer")
#: Competencies listed on a card, at most (another issuer's credential could carry any number).
MAX_COMPETENCIES = 40


@dataclass(frozen=True)
class Card:
    verified: bool
    #: The plain-words heading when not verified (None when verified).
    failure: Failure | None
    #: Revoked, suspended or expired (with the date and the public reason), for a credential whose content holds.
    standing: Standing | None
    #: Whether the content below the heading can be relied on (issued here, or every content check passed).
    trusted: bool
    holder: str | None = None
    #: The recipient is identified only by a hashed e-mail address (the recipient check can confirm it).
    hashed_recipient: bool = False
    #: The credential's title as issued ("Music Therapists: Proficient").
    title: str | None = None
    #: The level in plain words ("Proficient music therapist — level 3 of 4").
    level_words: str | None = None
    description: str | None = None
    competencies: tuple[str, ...] = ()
    badge_url: str | None = None
    badge_alt: str = ""
    issuer: str | None = None
    issued_on: str | None = None
    valid_until: str | None = None
    #: The page of a credential issued here, when the visitor may see it.
    page_url: str | None = None
    #: What a document that failed says of itself: shown as a claim, never as a heading.
    claimed_name: str | None = None

    @property
    def status_kind(self) -> str:
        return "ok" if self.verified else "bad"

    @property
    def status_text(self) -> str:
        if self.verified:
            return "Verified"
        if self.standing is not None and not self.standing.current:
            return self.standing.headline
        return "Not verified"

    @property
    def headline(self) -> str:
        """The page's heading: never a field of an unverified document."""
        if self.verified:
            return "Verified: genuine, current and not revoked"
        if self.standing is not None and not self.standing.current:
            return self.standing.headline
        return self.failure.headline if self.failure else "Not verified"

    @property
    def next_step(self) -> str | None:
        if self.verified:
            return None
        if self.standing is not None and self.standing.kind == "revoked":
            return "It no longer certifies anything. Ask the candidate about it, or contact the issuer."
        if self.standing is not None and self.standing.kind == "suspended":
            return "It certifies nothing while suspended. Contact the issuer to learn whether it will be reinstated."
        if self.standing is not None and self.standing.kind == "expired":
            return "It was valid until that date. Ask the candidate for their renewed credential."
        return self.failure.next_step if self.failure else None


def singular(title: str) -> str:
    """``Music Therapists`` -> ``music therapist``: an O*NET occupation title names the people, in the plural."""
    words = title.strip().lower()
    return words[:-1] if words.endswith("s") and not words.endswith("ss") else words


def level_in_words(level: Level, levels_in_framework: int) -> str:
    """``Proficient music therapist — level 3 of 4``."""
    return f"{level.label} {singular(level.framework.title)} — level {level.position} of {levels_in_framework}"


def _levels_in(session: SessionLike, framework_id: int) -> int:
    return int(session.scalar(select(func.count(Level.id)).where(Level.framework_id == framework_id)) or 0)


#: Entries of the per-app cache of what a card says about a level (its framework's size, its statements' names).
LEVEL_FACTS_CACHE_SIZE = 256


def _level_facts(session: SessionLike, level: Level) -> tuple[int, tuple[str, ...]]:
    """How many levels the level's framework has, and the names of the level's statements, in order.

    A framework never changes once imported (``catalogue.get_level`` relies on the same), so each app keeps these
    per level id: a cold verification page reads neither the level count nor the statements again.
    """
    cache = app_cache("verification.level_facts", LEVEL_FACTS_CACHE_SIZE)
    facts: tuple[int, tuple[str, ...]] | None = cache.get(level.id)
    if facts is None:
        facts = (_levels_in(session, level.framework_id), tuple(s.name for s in level.statements))
        cache.put(level.id, facts)
    return facts


def _readable(moment: Any) -> str | None:
    return readable_date(moment) if moment is not None else None


def for_issued(
    session: SessionLike, verification: Verification, *, record: IssuedRecord, show_name: bool, page_url: str | None,
) -> Card:
    """The card of a credential issued here, from this service's record of it."""
    standing = standing_of(record)
    level = catalogue.get_level(session, record.level_id) if record.level_id is not None else None
    failure = explain(verification)
    trusted = not any(c.ok is False for c in verification.checks if c.name in _CONTENT_CHECKS)
    if level is None:
        return Card(verified=verification.verified, failure=failure, standing=standing, trusted=False)
    name = f"{level.framework.title}: {level.label}"
    levels_in_framework, competencies = _level_facts(session, level)
    return Card(
        verified=verification.verified, failure=failure, standing=standing, trusted=trusted,
        holder=record.therapist_name if show_name else None,
        title=name, level_words=level_in_words(level, levels_in_framework),
        competencies=competencies,
        badge_url=url_for("credentials.badge", achievement_id=level.achievement_id, ext="svg"),
        badge_alt=f"{name} badge", issuer=verification.issuer_name or _own_name(),
        issued_on=_readable(record.issued_at), valid_until=_readable(record.valid_until),
        page_url=page_url, claimed_name=None if trusted else verification.name,
    )


def _own_name() -> str:
    return str(current_app.config["ISSUER_NAME"])


def record_of(credential: Credential) -> IssuedRecord:
    """A ``Credential`` row as the verification page's record of it (what ``for_issued`` reads)."""
    return IssuedRecord(
        id=credential.id, public=credential.public, revoked_at=credential.revoked_at,
        suspended_at=credential.suspended_at, therapist_name=credential.recipient_name, level_id=credential.level_id,
        issued_at=credential.issued_at, valid_until=credential.valid_until,
        revocation_public_reason=credential.revocation_public_reason,
        suspension_public_reason=credential.suspension_public_reason)


def issued_here(session: SessionLike, data: str, document: dict[str, Any] | None) -> Credential | None:
    """The credential issued here that ``data`` is, exactly (its signed JSON-LD or its VC-JWT), or None."""
    if document is None or registry.issuer_id(document) != issuer_did():
        return None
    text = data.strip()
    if not text.startswith("{"):  # a compact VC-JWT
        credential_id = registry.own_credential_id(document.get("id"))
        row = session.get(Credential, credential_id) if credential_id else None
        return row if row is not None and row.jwt == text else None
    try:
        digest = document_digest(document)
    except (TypeError, ValueError):
        return None
    return session.scalars(select(Credential).filter_by(digest=digest)).one_or_none()


def for_pasted(session: SessionLike, verification: Verification, data: str,
               document: dict[str, Any] | None) -> Card:
    """The card of a pasted or uploaded credential."""
    failure = explain(verification)
    trusted = verification.readable and not any(
        c.ok is False for c in verification.checks if c.name in _CONTENT_CHECKS)
    if not trusted or document is None:
        return Card(verified=False, failure=failure, standing=None, trusted=False, claimed_name=verification.name)
    own = issued_here(session, data, document)
    if own is not None:
        page_url = url_for("credentials.page", credential_id=own.id) if own.public else None
        # Whoever holds the whole signed credential holds the recipient's name: the document's description has it.
        return for_issued(session, verification, record=record_of(own), show_name=True, page_url=page_url)
    return _from_document(verification, document, failure)


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text: str = value.strip()
    return text if len(text) <= DISPLAY_LIMIT * 5 else text[: DISPLAY_LIMIT * 5 - 1] + "…"


def _holder(subject: dict[str, Any]) -> str | None:
    """A name the (verified) subject gives in clear: its ``name``, or a plain ``name`` IdentityObject."""
    name = _text(subject.get("name"))
    if name:
        return name
    identifiers = subject.get("identifier")
    for identity in (identifiers if isinstance(identifiers, list) else [identifiers])[: recipient.MAX_IDENTIFIERS]:
        if (isinstance(identity, dict) and identity.get("identityType") == "name"
                and identity.get("hashed") is not True):
            found: str | None = _text(identity.get("identityHash"))
            if found:
                return found
    return None


def _from_document(verification: Verification, document: dict[str, Any], failure: Failure | None) -> Card:
    """Another issuer's credential whose every content check passed: what it says can be shown."""
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    criteria = achievement.get("criteria")
    narrative = _text(criteria.get("narrative")) if isinstance(criteria, dict) else None
    alignments = achievement.get("alignment")
    competencies = tuple(
        name for item in (alignments if isinstance(alignments, list) else [])[:MAX_COMPETENCIES]
        if isinstance(item, dict) and (name := _text(item.get("targetName")))
    )
    issued = display_field(document, "validFrom") or display_field(document, "awardedDate")
    until = display_field(document, "validUntil")
    holder = _holder(subject)
    return Card(
        verified=verification.verified, failure=failure, standing=None, trusted=True,
        holder=holder, hashed_recipient=holder is None and bool(recipient.email_identities(document)),
        title=display_field(document, "name"), level_words=_text(achievement.get("name")),
        description=_text(achievement.get("description")) or narrative, competencies=competencies,
        issuer=verification.issuer_name, issued_on=_date_text(issued), valid_until=_date_text(until),
    )


def _date_text(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return readable_date(parse_datetime(value, "date"))
    except ValueError:
        return value
