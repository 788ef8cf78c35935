"""Allocating status-list indexes: a taken index is probed again elsewhere, a full list starts a new one."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from issuer.extensions import db
from issuer.identity import keystore
from issuer.models import StatusEntry, StatusList, utcnow
from issuer.status_lists import lists as status_lists


@pytest.fixture(autouse=True)
def _signing_keys(app: Flask) -> None:
    """Allocation runs inside issuance, where the keys exist: a new list is signed as it is created."""
    with app.app_context():
        keystore.ensure_keys(db.session)
        db.session.commit()


def scripted(monkeypatch: pytest.MonkeyPatch, values: list[int]) -> None:
    """Make the random probes return ``values`` in order, then 0, 1, 2, ... (never repeating by chance)."""
    sequence: Iterator[int] = iter(values)
    fallback = iter(range(10_000, 20_000))
    monkeypatch.setattr(secrets, "randbelow", lambda n: next(sequence, None) or next(fallback))


def allocate(app: Flask) -> tuple[uuid.UUID, dict[str, tuple[int, int]]]:
    credential_id = uuid.uuid4()
    with app.app_context():
        entries = status_lists.allocate(db.session, credential_id=credential_id, now=utcnow())
        db.session.commit()
        rows = db.session.scalars(select(StatusEntry).filter_by(credential_id=credential_id)).all()
        by_purpose = {row.purpose: (row.list_id, row.index) for row in rows}
    indexes = {p: i for p, (_, i) in by_purpose.items()}
    assert {e["statusPurpose"]: int(e["statusListIndex"]) for e in entries} == indexes
    return credential_id, by_purpose


def test_a_taken_index_is_probed_again_elsewhere(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, [7, 8])
    _, first = allocate(app)
    assert first == {"revocation": (first["revocation"][0], 7), "suspension": (first["suspension"][0], 8)}
    # Both positions are taken now: the next credential's first probes collide and it lands elsewhere.
    scripted(monkeypatch, [7, 8, 7, 9])
    _, second = allocate(app)
    assert (second["revocation"][1], second["suspension"][1]) == (10_000, 9)
    assert second["revocation"][0] == first["revocation"][0]
    assert second["suspension"][0] == first["suspension"][0]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatusEntry)) == 4


def test_a_list_that_keeps_colliding_counts_as_full_and_the_next_starts(app: Flask,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, [5, 6])
    _, first = allocate(app)
    # Every probe hits the taken positions: after MAX_PROBES rounds new lists start for both purposes.
    monkeypatch.setattr(status_lists, "MAX_PROBES", 3)
    scripted(monkeypatch, [5, 6] * 3 + [5, 6])
    _, second = allocate(app)
    assert second["revocation"][0] != first["revocation"][0]
    assert second["suspension"][0] != first["suspension"][0]
    assert (second["revocation"][1], second["suspension"][1]) == (5, 6)  # free again in the new lists
    with app.app_context():
        lists = db.session.scalars(select(StatusList)).all()
        assert sorted(s.purpose for s in lists) == ["revocation", "revocation", "suspension", "suspension"]
        # signed as they were created: serving a list never has to write
        assert all(s.signed_document is not None and s.signed_version == s.version for s in lists)
