"""Fixtures the integration tests share: the seeded people and one issued credential.

A module that needs more (an assignment id, the credential's text) overrides the fixture under the same name and
asks for this one, so the seeding itself is written once.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from tests.integration.helpers import issue, seed_people


@pytest.fixture
def people(app: Flask, framework: int) -> dict[str, int]:
    """The seed framework, keys, an assigned supervisor, an unassigned one ("other"), a therapist and an admin."""
    return seed_people(app)


@pytest.fixture
def issued(app: Flask, people: dict[str, int]) -> uuid.UUID:
    """A credential for the first level, issued to the therapist by the assigned supervisor."""
    return issue(app, people)
