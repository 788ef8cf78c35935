"""What a verification found, check by check, in the words the verification page uses.

A ``Verification`` is what the verifier's answers cache keeps, so it holds only small things: the checks,
the verdict, warnings and errors, the recognised issuer name and a few display fields cut to
``DISPLAY_LIMIT`` characters; never the parsed input (a page that needs the whole document reads it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from issuer.credentials.dates import readable_date
from issuer.credentials.vc_jwt import parse_datetime

#: Longest display field kept (a credential's name, id or dates), in characters.
DISPLAY_LIMIT = 200


@dataclass(frozen=True)
class CheckView:
    name: str
    ok: bool | None
    message: str

    @property
    def state(self) -> str:
        return "ok" if self.ok else ("warn" if self.ok is None else "fail")

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.name, self.name.replace("_", " ").capitalize())


CHECK_TITLES = {
    "format": "Readable credential",
    "schema": "Open Badges 3.0 structure",
    "context": "Every field is defined",
    "proof": "Genuine signature",
    "issuer": "Recognised issuer",
    "validity": "Within its validity dates",
    "status": "Not revoked or suspended",
    "credentials": "Every credential inside verifies",
}


def display_field(document: Any, name: str) -> str | None:
    """``document[name]`` if it is a string, cut to ``DISPLAY_LIMIT`` characters; else None."""
    value = document.get(name) if isinstance(document, dict) else None
    if not isinstance(value, str):
        return None
    return value if len(value) <= DISPLAY_LIMIT else value[: DISPLAY_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Verification:
    verified: bool
    readable: bool
    checks: list[CheckView]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: The credential's ``name`` and ``id`` as it gives them (strings only, at most ``DISPLAY_LIMIT`` characters).
    name: str | None = None
    credential_id: str | None = None
    #: Its ``validFrom`` and ``validUntil`` as written (strings only, cut likewise).
    valid_from: str | None = None
    valid_until: str | None = None
    #: The issuer's name as this service knows it (its own, or the trust list's); never the name the credential
    #: gives itself. None when the issuer is not recognised.
    issuer_name: str | None = None

    @property
    def approximate_size(self) -> int:
        """Bytes this answer holds, roughly: its strings and a fixed cost per object (for a cache's byte bound)."""
        strings: list[str | None] = [c.message for c in self.checks]
        strings += [*self.warnings, *self.errors]
        strings += [self.name, self.credential_id, self.valid_from, self.valid_until, self.issuer_name]
        return 512 + 160 * len(self.checks) + sum(len(s) + 64 for s in strings if s)

    @property
    def summary(self) -> str:
        failed = [c for c in self.checks if c.ok is False]
        return failed[0].message if failed else (self.errors[0] if self.errors else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": [{"check": c.name, "ok": c.ok, "message": c.message} for c in self.checks],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class Failure:
    """Why a credential did not verify, in plain words, and what the person checking it can do next.

    Written for an employer, not a cryptographer: it never repeats what the credential says of itself (a forged
    title must not become a heading); the technical checks stay available below it.
    """

    headline: str
    next_step: str


_ASK_AGAIN = "Ask the candidate for a fresh verification link or the credential file as the issuer sent it."
_CONTACT = "If in doubt, contact the issuer directly; do not rely on this credential meanwhile."


def _expired_headline(valid_until: str | None) -> str:
    try:
        moment = parse_datetime(valid_until, "validUntil")
    except (TypeError, ValueError):
        return "This credential has expired"
    return f"This credential expired on {readable_date(moment)}"


def _failed(verification: Verification, name: str) -> CheckView | None:
    return next((c for c in verification.checks if c.name == name and c.ok is False), None)


def explain(verification: Verification) -> Failure | None:  # noqa: PLR0911, PLR0912 (one answer per kind of failure)
    """The plain-words reason ``verification`` failed (the most fundamental failure first); None if verified."""
    if verification.verified:
        return None
    if not verification.readable or _failed(verification, "format"):
        return Failure("This is not a credential we can read",
                       "Check that you pasted the whole credential, or uploaded the badge image or file the "
                       "candidate received. " + _ASK_AGAIN)
    issuer, proof = _failed(verification, "issuer"), _failed(verification, "proof")
    if issuer is not None and issuer.message.startswith("Not issued by this service"):
        return Failure("This credential has been altered since it was issued, or was never issued here",
                       "Its content does not match any credential this service issued. " + _ASK_AGAIN + " " + _CONTACT)
    if proof is not None and "revoked" in proof.message and "key" in proof.message:
        return Failure("It was signed with a key the issuer has withdrawn",
                       "The issuer has re-issued the credentials that key signed. Ask the candidate for the "
                       "re-issued credential. " + _CONTACT)
    if proof is not None:
        return Failure("This credential has been altered since it was issued",
                       "Its signature does not match its content. " + _ASK_AGAIN + " " + _CONTACT)
    if issuer is not None:
        return Failure("Not issued by this service or a recognised issuer",
                       "Whoever signed it is not an issuer this service knows, so nothing in it can be relied on. "
                       "Ask the candidate who issued it and check with that organisation directly.")
    if _failed(verification, "schema") or _failed(verification, "context"):
        return Failure("This is not a well-formed Open Badges credential",
                       "It is missing parts every credential must have, or has parts no standard defines. "
                       + _ASK_AGAIN)
    status = _failed(verification, "status")
    if status is not None and "revoked" in status.message:
        return Failure("The issuer has revoked this credential",
                       "It no longer certifies anything. Ask the candidate about it, or contact the issuer.")
    if status is not None and "suspended" in status.message:
        return Failure("The issuer has suspended this credential",
                       "It does not certify anything while suspended. Contact the issuer to learn when it may be "
                       "reinstated.")
    if status is not None:
        return Failure("Its revocation status could not be confirmed",
                       "Try again later; if it persists, contact the issuer.")
    validity = _failed(verification, "validity")
    if validity is not None and validity.message.lower().startswith("expired"):
        return Failure(_expired_headline(verification.valid_until),
                       "It was valid until then but no longer is. Ask the candidate for their renewed credential.")
    if validity is not None:
        return Failure("This credential is not valid yet, or its dates cannot be read",
                       "Ask the candidate for a credential that is valid today.")
    if _failed(verification, "credentials"):
        return Failure("A credential inside this record does not verify",
                       "Open the technical checks below to see which one. " + _ASK_AGAIN)
    return Failure("This credential could not be fully checked",
                   "Open the technical checks below for details. " + _CONTACT)
