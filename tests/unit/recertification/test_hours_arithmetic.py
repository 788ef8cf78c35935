"""Hours from minutes (rounded down, never over-counted) and the activity period on an AchievementSubject."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from issuer.credentials.credential import build_achievement_credential
from issuer.models import SupervisorQualification
from issuer.recertification.hours import format_hours, hours_from_minutes
from issuer.recertification.qualifications import attestation


@pytest.mark.parametrize(("minutes", "hours", "text"), [
    (0, "0.00", "0"), (1, "0.01", "0.01"), (59, "0.98", "0.98"), (60, "1.00", "1"), (90, "1.50", "1.5"),
    (60_000, "1000.00", "1000"), (60_001, "1000.01", "1000.01"), (100, "1.66", "1.66"),
])
def test_hours_round_down(minutes: int, hours: str, text: str) -> None:
    assert hours_from_minutes(minutes) == Decimal(hours)
    assert format_hours(minutes) == text


def _credential(start: dt.datetime | None, end: dt.datetime | None) -> dict[str, object]:
    return build_achievement_credential(
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000000",
        issuer={"id": "did:web:example.test", "type": ["Profile"], "name": "Example"},
        achievement={"id": "https://example.test/a/1", "type": ["Achievement"], "name": "A", "description": "A",
                     "criteria": {"narrative": "A"}},
        recipient_email="t@example.test", salt="salt", recipient_did=None, name="A",
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), valid_until=None, evidence=[],
        activity_start_date=start, activity_end_date=end,
    )


def test_activity_period_on_the_subject() -> None:
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    end = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
    subject = _credential(start, end)["credentialSubject"]
    assert subject["activityStartDate"] == "2025-03-01T00:00:00Z"  # type: ignore[index]  # a dict, as built
    assert subject["activityEndDate"] == "2025-11-30T23:59:59Z"  # type: ignore[index]
    assert "activityStartDate" not in _credential(None, None)["credentialSubject"]  # type: ignore[operator]


def test_an_activity_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="activity_end_date must not be before"):
        _credential(dt.datetime(2025, 3, 2, tzinfo=dt.UTC), dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="no time zone"):
        _credential(dt.datetime(2025, 3, 2), None)  # noqa: DTZ001 (the point: a naive datetime is refused)


def test_attestation_names_only_what_is_held_that_day() -> None:
    def held(until: dt.date | None) -> SupervisorQualification:
        return SupervisorQualification(credential_name="MT-BC", number="1", issuing_body="CBMT", valid_until=until,
                                       withdrawn_at=None)

    day = dt.date(2026, 6, 1)
    qualifications = [held(dt.date(2026, 6, 1)), held(dt.date(2026, 5, 31)), held(None)]
    assert attestation("Sam", qualifications, day) == (
        "Sam (clinical supervisor; MT-BC no. 1 (CBMT, valid until 2026-06-01); MT-BC no. 1 (CBMT))")
    assert attestation("Sam", [], day) == "Sam (clinical supervisor)"
