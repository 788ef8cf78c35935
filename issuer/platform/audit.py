"""Writing the audit log. Append-only: nothing in the service updates or deletes a row."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from issuer.models import AuditEvent, User, utcnow
from issuer.platform.database import SessionLike


def client_address() -> str | None:
    """The caller's address. Behind a proxy, ProxyFix (see docs/deploy.md) makes this the real client."""
    if not has_request_context():
        return None
    return request.remote_addr


def record(
    session: SessionLike,
    action: str,
    *,
    actor: User | None,
    subject_type: str | None = None,
    subject_id: object = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit event; flushed with the caller's transaction, so it lands only if the change does."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        address=client_address(),
        details=details,
    )
    session.add(event)
    return event
