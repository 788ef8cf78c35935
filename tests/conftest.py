"""Fixtures shared by every test: an app on each database, its client and CLI runner.

Every test that touches the database runs on SQLite, and on PostgreSQL when
``ISSUER_TEST_POSTGRES_URL`` is set. In CI (``CI=true``) that variable is
required: an unreachable PostgreSQL fails the run, it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from issuer import create_app
from issuer.accounts import assignments
from issuer.config import ROOT, normalise_database_url
from issuer.extensions import db
from issuer.platform import database

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


_LOADED_KEYS: dict[tuple[Any, ...], Any] = {}


@pytest.fixture(autouse=True)
def _remembered_key_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading an RSA PEM checks the key's mathematics (about 0.1 s); the same bytes give the same key every time.

    A pure function memoised on its whole input: the same PEM bytes and password return the key loaded before.
    Anything else (a corrupt, truncated or wrongly encrypted file) is new input and goes to cryptography, and
    failures are never remembered, so every error path still runs for real.
    """
    from cryptography.hazmat.primitives import serialization

    real = serialization.load_pem_private_key

    def remembered(data: bytes, password: bytes | None, *args: Any, **kwargs: Any) -> Any:
        key = (bytes(data), password, args, tuple(sorted(kwargs.items())))
        if key not in _LOADED_KEYS:
            _LOADED_KEYS[key] = real(data, password, *args, **kwargs)
        return _LOADED_KEYS[key]

    monkeypatch.setattr(serialization, "load_pem_private_key", remembered)


#: Database URLs whose tables exist and hold nothing a test must not see once emptied (see ``empty_schema``).
_SCHEMA_READY: set[str] = set()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the empty schema, made once per session (per xdist worker); tests get copies."""
    import issuer.models  # noqa: F401  (every table on db.metadata)

    path = tmp_path_factory.mktemp("template") / "issuer.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database. Tests that build ``app`` get the schema, empty; the others get a blank database."""
    wants_schema = "app" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "issuer.sqlite3"
        url = f"sqlite:///{path}"
        if wants_schema:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            _SCHEMA_READY.add(url)
        return url
    url = str(request.getfixturevalue("postgres_server_url"))
    if not wants_schema:
        _drop_schema(url)
    return url


def _drop_schema(url: str) -> None:
    """Drop the models' tables (as the old per-test teardown did): for tests that build their own schema."""
    if url not in _SCHEMA_READY:
        return
    _SCHEMA_READY.discard(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        db.metadata.drop_all(engine)
    finally:
        engine.dispose()


def empty_schema(app: Flask) -> None:
    """Give the app an empty schema with fresh ids, as ``drop_all`` + ``create_all`` would, but cheaply.

    The schema is created once per database (per session and xdist worker). After that, PostgreSQL is emptied in
    one round trip: ``DELETE`` from every table, children first, and every sequence set back to its start (ids
    begin at 1 again). That takes milliseconds where ``TRUNCATE`` of every table takes a third of a second and
    ``drop_all`` + ``create_all`` half a second. SQLite files are fresh copies of the template, already empty.
    A test that drops the tables itself never uses this path (``database_url`` hands it a blank database).
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url not in _SCHEMA_READY:
            db.drop_all()
            db.create_all()
            _SCHEMA_READY.add(url)
        elif db.engine.dialect.name == "postgresql":
            dialect = db.engine.dialect
            deletes = "; ".join(str(table.delete().compile(dialect=dialect))
                                for table in reversed(db.metadata.sorted_tables))
            with db.engine.begin() as conn:
                conn.exec_driver_sql(deletes)
                conn.exec_driver_sql("SELECT setval(seqrelid, seqstart, false) FROM pg_sequence")


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    path.mkdir(mode=0o700)
    return path


#: Argon2id at its minimum cost: hashes are still real argon2id hashes, about a thousand times cheaper to make.
#: Production's defaults are asserted in tests/integration/test_auth.py.
CHEAP_ARGON2 = {"ISSUER_ARGON2_TIME_COST": 1, "ISSUER_ARGON2_MEMORY_COST": 8, "ISSUER_ARGON2_PARALLELISM": 1}


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
        "ISSUER_VERIFY_RATE_LIMIT": "0",  # off, except in the tests of the limit itself
        "ISSUER_REGISTER_RATE_LIMIT": "0",  # off, except in the tests of the limit itself
        "ISSUER_NONCE_RATE_LIMIT": "0",  # off, except in the tests of the limit itself
        **CHEAP_ARGON2,
    }


@pytest.fixture
def app_config(database_url: str, keys_dir: Path, tmp_path: Path) -> dict[str, Any]:
    return make_test_config(database_url, keys_dir, tmp_path)


@contextmanager
def fresh_app(config: dict[str, Any]) -> Iterator[Flask]:
    """An app on an empty schema (created from the models; the migration test checks they agree)."""
    app = create_app(config)
    empty_schema(app)
    yield app
    with app.app_context():
        db.session.remove()
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
def framework(app: Flask) -> int:
    """The seed music therapist framework, imported."""
    from issuer.frameworks.catalogue import import_framework, parse_framework

    with app.app_context():
        result = import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        db.session.commit()
        return result.framework.id


PASSWORD = "correct horse battery staple"
CSRF_PATTERN = __import__("re").compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class MakeUser(Protocol):
    """The ``make_user`` fixture: creates an account and returns its id."""

    def __call__(self, email: str, role: str = ..., name: str | None = ..., password: str = ...) -> int: ...


@pytest.fixture
def make_user(app: Flask) -> MakeUser:
    """Create an account; returns its id. ``make_user("s@x.test", "supervisor")``."""
    from issuer.accounts import directory

    def _make(email: str, role: str = "therapist", name: str | None = None, password: str = PASSWORD) -> int:
        with app.app_context():
            user = directory.create_user(db.session, email=email, name=name or email.split("@", maxsplit=1)[0].title(),
                                        role=role, password=password)
            db.session.commit()
            return user.id

    return _make


@pytest.fixture
def make_assignment(app: Flask) -> Callable[[int, int], None]:
    from issuer.models import User

    def _assign(supervisor_id: int, therapist_id: int) -> None:
        with app.app_context():
            assignments.assign(db.session, supervisor=db.session.get_one(User, supervisor_id),
                            therapist=db.session.get_one(User, therapist_id))
            db.session.commit()

    return _assign


class AuthActions:
    """Sign in and out through the real forms, CSRF token included (flaskr's pattern).

    The token is made by Flask-WTF for the client's own session, as a form page would make it, without fetching a
    page before every post (test_auth checks that the login page's own token signs in).
    """

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        """A valid CSRF token for this client's session (``path``: the form it is for, kept for the callers)."""
        from flask import session
        from flask_wtf.csrf import generate_csrf

        app = self.client.application
        with self.client.session_transaction() as stored, app.test_request_context(path):
            session.update(stored)
            token: str = generate_csrf()
            stored.update(session)
        return token

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
    config = {**make_test_config(postgres_server_url, keys_dir, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": pool}
    with fresh_app(config) as app:
        yield app
