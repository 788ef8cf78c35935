"""A credential's standing as every artifact shows it: current, revoked, suspended or expired, since when, and why.

One answer for the public page, the verification page, the certificate, the baked badge download and the public
profile, so no artifact can disagree with another. Revoked comes first (it is permanent), then suspended, then
expired (``validUntil`` in the past). Only the reason the issuer chose to publish is carried: the free-text reason
given at revocation or suspension is private and never part of a standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from issuer.credentials.dates import readable_date

Kind = Literal["active", "revoked", "suspended", "expired"]


class HasStatus(Protocol):
    """What a standing is read from: a ``Credential`` row, or the verification page's record of one."""

    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def suspended_at(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def revocation_public_reason(self) -> str | None: ...
    @property
    def suspension_public_reason(self) -> str | None: ...


@dataclass(frozen=True)
class Standing:
    kind: Kind
    #: When it was revoked or suspended, or when it expired; None while current.
    since: datetime | None = None
    #: The reason the issuer published with the revocation or suspension (never the private one).
    public_reason: str | None = None

    @property
    def current(self) -> bool:
        return self.kind == "active"

    @property
    def word(self) -> str:
        """REVOKED, SUSPENDED, EXPIRED (for watermarks and headings), or VALID."""
        return "VALID" if self.kind == "active" else self.kind.upper()

    @property
    def date_text(self) -> str:
        return readable_date(self.since) if self.since is not None else ""

    @property
    def headline(self) -> str:
        """``Revoked on 5 December 2026``, ``Suspended since …``, ``Expired on …``, or ``Current``."""
        if self.kind == "revoked":
            return f"Revoked on {self.date_text}"
        if self.kind == "suspended":
            return f"Suspended since {self.date_text}"
        if self.kind == "expired":
            return f"Expired on {self.date_text}"
        return "Current"


def standing_of(credential: HasStatus, now: datetime | None = None) -> Standing:
    now = now or datetime.now(UTC)
    if credential.revoked_at is not None:
        return Standing("revoked", credential.revoked_at, credential.revocation_public_reason)
    if credential.suspended_at is not None:
        return Standing("suspended", credential.suspended_at, credential.suspension_public_reason)
    if credential.valid_until is not None and credential.valid_until <= now:
        return Standing("expired", credential.valid_until)
    return Standing("active")
