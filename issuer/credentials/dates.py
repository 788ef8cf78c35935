"""Date arithmetic that cannot overflow at the edges of ``datetime`` (years 1 and 9999).

A credential may say ``validFrom: "0001-01-01T00:00:00Z"`` or ``validUntil:
"9999-12-31T23:59:59Z"``: both are valid XML Schema dateTimes, and adding a clock
skew to either raises ``OverflowError``. Such an instant is as far as time goes
for us, so a shift past the edge stops at the edge (the smallest or largest
aware ``datetime``): comparisons keep their meaning, nothing raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from issuer.credentials.vc_jwt import parse_datetime


def readable_date(moment: datetime) -> str:
    """``5 December 2026`` (no leading zero, the month in words): how every page, notice and CLR writes a date."""
    return f"{moment.day} {moment:%B %Y}"


#: The first and last instants an aware ``datetime`` can hold, in UTC.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def shift(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, clamped to [``EARLIEST``, ``LATEST``] instead of raising ``OverflowError``.

    A naive ``moment`` is taken as UTC. The result is in ``moment``'s zone when it
    fits, in UTC when it was clamped.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


def validity_turn(credential: Any, now: datetime, skew: timedelta) -> datetime | None:
    """The next instant after ``now`` at which ``verify()``'s validity check flips for ``credential``, or None.

    validFrom/validUntil (or VC 1.1's issuanceDate/expirationDate when validFrom
    is absent), each widened by ``skew`` as the check widens them; a date that
    cannot be read fails the check at any time, so it sets no turn. Never raises
    at the year 1 / 9999 edges (see ``shift``).
    """
    if not isinstance(credential, Mapping):
        return None
    start, end = ("validFrom", "validUntil")
    if "validFrom" not in credential and "issuanceDate" in credential:
        start, end = "issuanceDate", "expirationDate"
    try:
        turns: Iterable[datetime] = [shift(parse_datetime(credential.get(start), start), -skew)]
        if end in credential:
            turns = [*turns, shift(parse_datetime(credential[end], end), skew)]
    except ValueError:
        return None
    return min((turn for turn in turns if turn > now), default=None)
