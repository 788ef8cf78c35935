"""Fixtures shared by every test: an app on each database, its client and CLI runner.

Every test that touches the database runs on SQLite, and on PostgreSQL when
``ISSUER_TEST_POSTGRES_URL`` is set. In CI (``CI=true``) that variable is
required: an unreachable PostgreSQL fails the run, it is never skipped.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from issuer import create_app
from issuer.platform import database
from issuer.config import ROOT, normalise_database_url
from issuer.extensions import db
from issuer.accounts import assignments

SHARED = ROOT.parent / "shared"
SEED_FRAMEWORK = ROOT / "frameworks" / "music-therapists-29-1129.02-v26.05.json"
POSTGRES_URL = os.environ.get("ISSUER_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BACKENDS = ["sqlite", "postgres"]


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but ISSUER_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("ISSUER_TEST_POSTGRES_URL is not set (set it to run the PostgreSQL half of the suite)")
    admin_url = normalise_database_url(POSTGRES_URL)
    name = f"issuer_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_RSA_POOL: list[Any] = []


@pytest.fixture(autouse=True)
def _fast_rsa_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """RSA-3072 generation takes about a second; tests draw distinct keys from a pool made once per session.

    Every key a test creates is still a real, distinct 3072-bit key (rotation tests see a new one).
    """
    from issuer.credentials import keyfiles

    real = keyfiles.generate_rsa
    counter = iter(range(10_000))

    def pooled(bits: int = 3072) -> Any:
        n = next(counter)
        while len(_RSA_POOL) <= n:
            _RSA_POOL.append(real(bits))
        return _RSA_POOL[n]

    monkeypatch.setattr(keyfiles, "generate_rsa", pooled)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'issuer.sqlite3'}"
    return str(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    path.mkdir(mode=0o700)
    return path


def make_test_config(database_url: str, keys_dir: Path, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ISSUER_BASE_URL": "http://127.0.0.1:5000",
        "ISSUER_KEYS_DIR": str(keys_dir),
        "ISSUER_KEY_PASSPHRASE": None,
        "ISSUER_UPLOADS_DIR": str(tmp_path / "uploads"),
        "ISSUER_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
    }


@pytest.fixture
def app_config(database_url: str, keys_dir: Path, tmp_path: Path) -> dict[str, Any]:
    return make_test_config(database_url, keys_dir, tmp_path)


@contextmanager
def fresh_app(config: dict[str, Any]) -> Iterator[Flask]:
    """An app on an empty schema (created from the models; the migration test checks they agree), dropped after."""
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
    database.dispose(app)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    with fresh_app(app_config) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def framework(app: Flask) -> Any:
    """The seed music therapist framework, imported."""
    from issuer.frameworks.catalogue import import_framework, parse_framework

    with app.app_context():
        result = import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        db.session.commit()
        return result.framework.id


PASSWORD = "correct horse battery staple"
CSRF_PATTERN = __import__("re").compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def make_user(app: Flask) -> Any:
    """Create an account; returns its id. ``make_user("s@x.test", "supervisor")``."""
    from issuer.accounts import directory

    def _make(email: str, role: str = "therapist", name: str | None = None, password: str = PASSWORD) -> int:
        with app.app_context():
            user = directory.create_user(db.session, email=email, name=name or email.split("@")[0].title(),
                                        role=role, password=password)
            db.session.commit()
            return user.id

    return _make


@pytest.fixture
def make_assignment(app: Flask) -> Any:
    from issuer.models import User

    def _assign(supervisor_id: int, therapist_id: int) -> None:
        with app.app_context():
            assignments.assign(db.session, supervisor=db.session.get(User, supervisor_id),
                            therapist=db.session.get(User, therapist_id))
            db.session.commit()

    return _assign


class AuthActions:
    """Sign in and out through the real forms, CSRF token included (flaskr's pattern)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        html = self.client.get(path).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        for fallback in ("/", "/login", "/verify"):
            if match is not None:
                break
            match = CSRF_PATTERN.search(self.client.get(fallback).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        token = self.csrf("/login")
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self) -> Any:
        return self.client.post("/logout", data={"csrf_token": self.csrf("/")})

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with a valid CSRF token."""
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf("/")}, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def postgres_app(postgres_server_url: str, keys_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on PostgreSQL only, for the proofs that need real concurrent transactions."""
    pool = {"pool_size": 30, "max_overflow": 30, "pool_timeout": 60}
    with fresh_app({**make_test_config(postgres_server_url, keys_dir, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": pool}) as app:
        yield app
