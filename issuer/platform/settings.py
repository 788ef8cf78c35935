"""Administrator settings stored in the database."""

from __future__ import annotations

from issuer.models import Setting, User
from issuer.platform import audit
from issuer.platform.database import SessionLike

ALLOW_OVERRIDE = "allow_override"


def get(session: SessionLike, key: str, default: str = "") -> str:
    row = session.get(Setting, key)
    return row.value if row is not None else default


def put(session: SessionLike, key: str, value: str, *, actor: User | None) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    audit.record(session, "setting.changed", actor=actor, subject_type="setting", subject_id=key, value=value)
    session.flush()


def override_allowed(session: SessionLike) -> bool:
    return get(session, ALLOW_OVERRIDE, "false") == "true"
