"""Fixtures the integration tests share: the seeded people, one issued credential, and the apps races run on.

A module that needs more (an assignment id, the credential's text) overrides the fixture under the same name and
asks for this one, so the seeding itself is written once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import fresh_app, make_test_config
from tests.integration.helpers import issue, seed_people

# Enough pooled connections for every thread of a race to hold its own, and time for SQLite's writers to queue.
RACE_POOL = {"pool_size": 20, "max_overflow": 10, "pool_timeout": 300}


@pytest.fixture
def people(app: Flask, framework: int) -> dict[str, int]:
    """The seed framework, keys, an assigned supervisor, an unassigned one ("other"), a therapist and an admin."""
    return seed_people(app)


@pytest.fixture
def issued(app: Flask, people: dict[str, int]) -> uuid.UUID:
    """A credential for the first level, issued to the therapist by the assigned supervisor."""
    return issue(app, people)


@pytest.fixture
def sqlite_race_app(keys_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on a SQLite file (not in memory), so that threads racing each other hold real connections."""
    url = f"sqlite:///{tmp_path / 'races.sqlite3'}"
    with fresh_app({**make_test_config(url, keys_dir, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": RACE_POOL}) as app:
        yield app


@pytest.fixture(params=["sqlite", "postgres"])
def race_app(request: pytest.FixtureRequest) -> Flask:
    """The race tests' app, once on SQLite and once on PostgreSQL (skipped where no server is configured)."""
    app: Flask = request.getfixturevalue("sqlite_race_app" if request.param == "sqlite" else "postgres_app")
    return app


@pytest.fixture
def racing_app(race_app: Flask) -> Flask:
    """The race tests' app (on each database) with the seeded people in it."""
    seed_people(race_app)
    return race_app
