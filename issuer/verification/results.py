"""What a verification found, check by check, in the words the verification page uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class Verification:
    verified: bool
    readable: bool
    checks: list[CheckView]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    #: The issuer's name as this service knows it (its own, or the trust list's); never the name the credential
    #: gives itself. None when the issuer is not recognised.
    issuer_name: str | None = None

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
