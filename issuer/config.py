"""Settings from the environment, with defaults that work on a fresh checkout.

Every public URL and the issuer's identifiers derive from ``ISSUER_BASE_URL``,
so moving the service to a real host is one variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

#: The repository (or installed tree) root: ``keys/``, ``frameworks/`` and
#: ``templates/`` live beside the ``issuer`` package.
ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BASE_URL = "http://127.0.0.1:5000"

#: Argon2id defaults: RFC 9106 section 4, second recommended option (3 passes, 64 MiB, 4 lanes).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_COST = 64 * 1024  # KiB
ARGON2_PARALLELISM = 4


def load_settings(instance_path: str) -> dict[str, Any]:
    """Read the ``ISSUER_*`` variables (and ``SECRET_KEY``) into a Flask config dict."""
    instance = Path(instance_path)
    base_url = os.environ.get("ISSUER_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    database_url = os.environ.get("ISSUER_DATABASE_URL") or f"sqlite:///{instance / 'issuer.sqlite3'}"
    passphrase = os.environ.get("ISSUER_KEY_PASSPHRASE")
    return {
        "ISSUER_BASE_URL": base_url,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "ISSUER_KEYS_DIR": os.environ.get("ISSUER_KEYS_DIR", str(ROOT / "keys")),
        "ISSUER_KEY_PASSPHRASE": passphrase.encode() if passphrase else None,
        "ISSUER_FRAMEWORKS_DIR": os.environ.get("ISSUER_FRAMEWORKS_DIR", str(ROOT / "frameworks")),
        "ISSUER_NAME": os.environ.get("ISSUER_NAME", "Clinical Competency Credentials"),
        "ISSUER_EMAIL": os.environ.get("ISSUER_EMAIL", "credentials@example.org"),
        "ISSUER_UPLOADS_DIR": os.environ.get("ISSUER_UPLOADS_DIR", str(instance / "uploads")),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or instance_secret_key(instance),
        # Issuance notices: SMTP when ISSUER_SMTP_HOST is set, else .eml files in the outbox folder.
        "ISSUER_SMTP_HOST": os.environ.get("ISSUER_SMTP_HOST"),
        "ISSUER_SMTP_PORT": int(os.environ.get("ISSUER_SMTP_PORT", "587")),
        "ISSUER_SMTP_USER": os.environ.get("ISSUER_SMTP_USER"),
        "ISSUER_SMTP_PASSWORD": os.environ.get("ISSUER_SMTP_PASSWORD"),
        "ISSUER_SMTP_STARTTLS": os.environ.get("ISSUER_SMTP_STARTTLS", "true").lower() != "false",
        "ISSUER_OUTBOX_DIR": os.environ.get("ISSUER_OUTBOX_DIR", str(instance / "outbox")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("ISSUER_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
        # No pool_pre_ping: issuer.platform.database pings only connections that sat idle (a round trip saved
        # per request).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # How many reverse proxies in front set X-Forwarded-For/-Proto (0: trust none, the default).
        "ISSUER_TRUSTED_PROXIES": int(os.environ.get("ISSUER_TRUSTED_PROXIES", "0")),
        # Verifications of pasted or uploaded input per client address, shared by every worker ("0" turns it off).
        "ISSUER_VERIFY_RATE_LIMIT": os.environ.get("ISSUER_VERIFY_RATE_LIMIT", "60/minute"),
        # Dynamic client registrations (POST /oauth/register, open to anyone) per client address ("0": off).
        "ISSUER_REGISTER_RATE_LIMIT": os.environ.get("ISSUER_REGISTER_RATE_LIMIT", "10/hour"),
        "ISSUER_NONCE_RATE_LIMIT": os.environ.get("ISSUER_NONCE_RATE_LIMIT", "120/minute"),
        # Account links: how long an invitation and a "forgot password" link work, and how many "forgot password"
        # requests one client address may make ("0": no limit).
        "ISSUER_INVITATION_TTL_HOURS": float(os.environ.get("ISSUER_INVITATION_TTL_HOURS", "168")),
        "ISSUER_PASSWORD_RESET_TTL_MINUTES": float(os.environ.get("ISSUER_PASSWORD_RESET_TTL_MINUTES", "60")),
        "ISSUER_PASSWORD_RESET_RATE_LIMIT": os.environ.get("ISSUER_PASSWORD_RESET_RATE_LIMIT", "10/hour"),
        # Argon2id cost for password hashes; the defaults are RFC 9106's second recommendation (argon2-cffi's own).
        # Hashes record their parameters, so changing these keeps old hashes valid and upgrades them at next sign-in.
        "ISSUER_ARGON2_TIME_COST": int(os.environ.get("ISSUER_ARGON2_TIME_COST", ARGON2_TIME_COST)),
        "ISSUER_ARGON2_MEMORY_COST": int(os.environ.get("ISSUER_ARGON2_MEMORY_COST", ARGON2_MEMORY_COST)),
        "ISSUER_ARGON2_PARALLELISM": int(os.environ.get("ISSUER_ARGON2_PARALLELISM", ARGON2_PARALLELISM)),
        # The time zone calendar dates are read in: validity months, a cycle's days, "expires on" (an IANA name).
        "ISSUER_TIMEZONE": checked_timezone(os.environ.get("ISSUER_TIMEZONE") or "UTC"),
    }


def checked_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows; a clear error at start-up otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise RuntimeError(f"ISSUER_TIMEZONE={name!r} is not a known IANA time zone "
                           "(e.g. UTC, America/Chicago)") from error
    return name


def cookie_settings(base_url: str) -> dict[str, Any]:
    """Over HTTPS the session cookie is a ``__Host-`` cookie: Secure, host-only, path /, HttpOnly, SameSite.

    Plain-HTTP development (http://127.0.0.1:5000) cannot keep a Secure cookie, so it gets an ordinary one.
    """
    secure = base_url.startswith("https://")
    return {
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "issuer_session",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": False,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
    }


def normalise_database_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance: Path) -> str:
    """Return the instance's secret key, generating it once (mode 0600).

    Never a constant in the code: a fresh checkout gets its own random key, and
    it survives restarts so sessions stay valid.
    """
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker won the race; read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
