"""Fixtures for the badge tests."""

from __future__ import annotations

import pytest

from issuer.badges import badge_png


@pytest.fixture(scope="session")
def plain_png() -> bytes:
    return badge_png(level_name="Emerging", level_number=1, framework_name="Music Therapists", size=128)
