"""Demo accounts for `make run`: one of each role, the therapist assigned to the supervisor."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from issuer.accounts import assignments, directory
from issuer.models import Role, User
from issuer.platform.database import SessionLike

DEMO_ACCOUNTS = (
    (Role.ADMIN, "admin@example.org", "Alex Admin"),
    (Role.SUPERVISOR, "supervisor@example.org", "Sam Supervisor"),
    (Role.THERAPIST, "therapist@example.org", "Taylor Therapist"),
)


def create_demo_accounts(session: SessionLike) -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; returns (role, email, password) of the new ones.

    Passwords are random (never constants in the code), printed once, and kept
    in ``instance/demo-accounts.txt`` (mode 0600) so a developer can find them again.
    """
    created = []
    users: dict[Role, User] = {}
    for role, email, name in DEMO_ACCOUNTS:
        user = session.scalars(select(User).filter_by(email=email)).one_or_none()
        if user is None:
            password = directory.generate_password()
            user = directory.create_user(session, email=email, name=name, role=role, password=password)
            created.append((role.value, email, password))
        users[role] = user
    assignments.assign(session, supervisor=users[Role.SUPERVISOR], therapist=users[Role.THERAPIST])
    if created:
        path = Path(current_app.instance_path) / "demo-accounts.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            for role_name, email, password in created:
                fh.write(f"{role_name}\t{email}\t{password}\n")
    return created
