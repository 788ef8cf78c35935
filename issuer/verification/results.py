"""What a verification found, check by check, in the words the verification page uses.

A ``Verification`` is what the verifier's answers cache keeps, so it holds only small things: the checks,
the verdict, warnings and errors, the recognised issuer name and a few display fields cut to
``DISPLAY_LIMIT`` characters; never the parsed input (a page that needs the whole document reads it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
