"""People's accounts: creating, finding and deactivating users, and their passwords (hashed with Argon2id)."""

from __future__ import annotations

import re
import secrets
from typing import cast

from argon2 import PasswordHasher
from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.local import LocalProxy

from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.models import Role, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000  # the sign-in form's limit
MAX_EMAIL_LENGTH = 320  # RFC 3696 (errata 1690): 64 for the local part, @, 255 for the domain
MAX_NAME_LENGTH = 200  # the size of the users.name column
#: Refused in names (they end up in signed credentials and on every page): C0 and C1 controls and DEL.
NAME_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")

#: Where each app keeps its hasher (built from its config on first use).
HASHER_KEY = "issuer.password_hasher"


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > MAX_EMAIL_LENGTH:
        raise InvalidInput(f"{email!r} is not an e-mail address")
    return email


def password_hasher(app: Flask | None = None) -> PasswordHasher:
    """This app's Argon2id hasher, with the cost set by ``ISSUER_ARGON2_*`` (see ``issuer.config``)."""
    app = app or cast("LocalProxy[Flask]", current_app)._get_current_object()  # the app, not its proxy
    hasher = app.extensions.get(HASHER_KEY)
    if hasher is None:
        hasher = PasswordHasher(time_cost=app.config["ISSUER_ARGON2_TIME_COST"],
                                memory_cost=app.config["ISSUER_ARGON2_MEMORY_COST"],
                                parallelism=app.config["ISSUER_ARGON2_PARALLELISM"])
        app.extensions[HASHER_KEY] = hasher
    return hasher


def check_password(password: str) -> str:
    """:raise InvalidInput: a password shorter than ``MIN_PASSWORD_LENGTH`` or longer than ``MAX_PASSWORD_LENGTH``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return password_hasher().hash(check_password(password))


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def check_name(name: str) -> str:
    """A person's name, stripped; refused when empty, too long or holding a control character."""
    name = name.strip()
    if not name:
        raise InvalidInput("a name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"the name is longer than {MAX_NAME_LENGTH} characters")
    found = NAME_CONTROL_CHARACTERS.search(name)
    if found:
        raise InvalidInput(f"the name contains the control character U+{ord(found.group()):04X}; remove it")
    return name


def check_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; use admin, supervisor or therapist") from None


def create_user(session: SessionLike, *, email: str, name: str, role: Role | str, password: str,
                actor: User | None = None) -> User:
    email = normalise_email(email)
    name = check_name(name)
    role = check_role(role)
    user = User(
        email=email, name=name, role=role, password_hash=hash_password(password), active=True,
        created_at=utcnow(), recipient_salt=secrets.token_hex(16),
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict(f"an account for {email} already exists") from None
    audit.record(session, "account.created", actor=actor, subject_type="user", subject_id=user.id, role=role.value)
    return user


def set_password(session: SessionLike, user: User, password: str, *, actor: User | None) -> None:
    """Give ``user`` a new password and end every session of the account (on every device). Flushes only."""
    password_hash = hash_password(password)
    session.execute(update(User).where(User.id == user.id)
                    .values(password_hash=password_hash, session_epoch=User.session_epoch + 1)
                    .execution_options(synchronize_session=False))
    session.expire(user, ["password_hash", "session_epoch"])
    audit.record(session, "account.password_changed", actor=actor, subject_type="user", subject_id=user.id)
    session.flush()


def get_user_by_email(session: SessionLike, email: str) -> User:
    user = session.scalars(select(User).filter_by(email=email.strip().lower())).one_or_none()
    if user is None:
        raise NotFound(f"no account for {email}")
    return user


def set_active(session: SessionLike, user: User, *, active: bool, actor: User) -> None:
    if user.id == actor.id and not active:
        raise InvalidInput("you cannot deactivate your own account")
    user.active = active
    audit.record(session, "account.activated" if active else "account.deactivated",
                 actor=actor, subject_type="user", subject_id=user.id)
    session.flush()
