"""The policy arithmetic: credits from minutes, categories and requirements, calendar months, cycle boundaries and
the time zone at a cycle's end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from issuer.recertification.policy import (
    CreditTotals,
    Cycle,
    PolicyTerms,
    add_months,
    credits_from_minutes,
    format_credits,
    normalise_category,
    parse_category_minimums,
    parse_credits,
    parse_reminder_days,
    requirements_met,
    valid_until_for,
)

UTC = dt.UTC
CHICAGO = ZoneInfo("America/Chicago")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- credits ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("minutes", "expected"), [
    (0, "0.00"), (1, "0.02"), (49, "0.98"), (50, "1.00"), (51, "1.02"), (75, "1.50"), (100, "2.00"),
    (5000, "100.00"), (5049, "100.98"),
])
def test_credits_from_minutes_at_fifty_minutes_a_credit(minutes: int, expected: str) -> None:
    assert credits_from_minutes(minutes) == Decimal(expected)
    assert credits_from_minutes(minutes).as_tuple().exponent == -2


def test_credits_round_down_never_up() -> None:
    # 1/60 of a credit is 0.01666...: two decimals, rounded down, never 0.02
    assert credits_from_minutes(1, 60) == Decimal("0.01")
    assert credits_from_minutes(59, 60) == Decimal("0.98")  # 0.98333...
    assert credits_from_minutes(2, 3) == Decimal("0.66")  # 0.666..., not 0.67
    assert credits_from_minutes(60, 60) == Decimal("1.00")


@pytest.mark.parametrize(("minutes", "rate"), [(-1, 50), (10, 0), (10, -50), (True, 50), (10, True)])
def test_credits_refuse_negative_minutes_and_bad_rates(minutes: int, rate: int) -> None:
    with pytest.raises(ValueError, match="minutes"):
        credits_from_minutes(minutes, rate)


def test_refuse_non_integer_minutes() -> None:
    with pytest.raises(ValueError, match="whole number"):
        credits_from_minutes(50.5)  # type: ignore[arg-type]  # the point: a float is refused


def test_format_credits() -> None:
    assert format_credits(Decimal("3.00")) == "3"
    assert format_credits(Decimal("2.50")) == "2.5"
    assert format_credits(Decimal("0.02")) == "0.02"
    assert format_credits(Decimal(100)) == "100"


@pytest.mark.parametrize(("value", "expected"), [("100", "100.00"), (3, "3.00"), ("2.5", "2.50"), ("0", "0.00")])
def test_parse_credits(value: object, expected: str) -> None:
    assert parse_credits(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["-1", "1.005", "NaN", "Infinity", "abc", "10001", True, None, [3]])
def test_parse_credits_refuses(value: object) -> None:
    with pytest.raises(ValueError, match=r"number|between|decimals"):
        parse_credits(value)


# --- categories and requirements ----------------------------------------------------------------------------------

def test_categories_compare_by_normal_form() -> None:
    assert normalise_category("  Ethics ") == "ethics"
    assert normalise_category("Clinical   Practice") == "clinical practice"
    assert parse_category_minimums('{"Ethics": 3, "Clinical practice": "1.5"}') == {
        "ethics": Decimal("3.00"), "clinical practice": Decimal("1.50")}


@pytest.mark.parametrize(("text", "message"), [
    ("[1]", "JSON object"), ("{", "JSON object"), ('{"ethics": -1}', "between 0"),
    ('{"Ethics": 1, "ethics ": 2}', "named twice"), ('{"": 1}', "category name"), ('{"ethics": "x"}', "number"),
])
def test_category_minimums_refused_in_words(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_category_minimums(text)


def test_reminder_days_parsed_distinct_largest_first() -> None:
    assert parse_reminder_days("7, 90,30,30") == (90, 30, 7)
    assert parse_reminder_days("") == ()
    for bad in ("0", "-7", "7.5", "x", "3651"):
        with pytest.raises(ValueError, match="whole days"):
            parse_reminder_days(bad)


TERMS = PolicyTerms(validity_months=60, required_credits=Decimal(100), category_minimums={"ethics": Decimal(3)})


def test_requirements_met_when_total_and_every_category_reach_the_minimum() -> None:
    totals = CreditTotals(total=Decimal("100.00"), by_category={"ethics": Decimal("3.00"), "research": Decimal(97)})
    assert requirements_met(TERMS, totals) == []


def test_requirements_name_what_is_missing() -> None:
    totals = CreditTotals(total=Decimal("98.50"), by_category={"ethics": Decimal("1.00")})
    assert requirements_met(TERMS, totals) == [
        "1.5 more credit(s): 98.5 of 100 approved",
        "2 more credit(s) in ethics: 1 of 3 approved",
    ]


def test_category_credits_count_towards_the_total_and_are_matched_by_normal_form() -> None:
    totals = CreditTotals(total=Decimal(100), by_category={"Ethics": Decimal(3)})
    assert requirements_met(TERMS, totals) == []
    missing_category = CreditTotals(total=Decimal(120), by_category={"research": Decimal(120)})
    assert requirements_met(TERMS, missing_category) == ["3 more credit(s) in ethics: 0 of 3 approved"]


def test_no_policy_requires_nothing() -> None:
    assert requirements_met(PolicyTerms(), CreditTotals(total=Decimal(0))) == []
    assert not PolicyTerms().expires
    assert not PolicyTerms().requires_credits


# --- calendar months ----------------------------------------------------------------------------------------------

def test_validity_adds_calendar_months_keeping_the_time_of_day() -> None:
    assert add_months(utc(2026, 12, 5, 1, 30), 60, UTC) == utc(2031, 12, 5, 1, 30)
    assert add_months(utc(2026, 1, 15, 9), 1, UTC) == utc(2026, 2, 15, 9)
    assert add_months(utc(2026, 11, 30), 3, UTC) == utc(2027, 2, 28)


def test_end_of_month_is_clamped() -> None:
    assert add_months(utc(2026, 1, 31, 12), 1, UTC) == utc(2026, 2, 28, 12)
    assert add_months(utc(2027, 1, 31, 12), 1, UTC) == utc(2027, 2, 28, 12)
    assert add_months(utc(2028, 1, 31, 12), 1, UTC) == utc(2028, 2, 29, 12)  # leap year
    assert add_months(utc(2028, 2, 29, 12), 12, UTC) == utc(2029, 2, 28, 12)
    assert add_months(utc(2028, 2, 29, 12), 48, UTC) == utc(2032, 2, 29, 12)
    assert add_months(utc(2026, 3, 31), 1, UTC) == utc(2026, 4, 30)


def test_months_are_counted_on_the_service_time_zone_wall_clock() -> None:
    # 31 January 03:00 UTC is still 30 January 21:00 in Chicago: in UTC one month later is 28 February 03:00
    # (clamped from the 31st), in Chicago it is 28 February 21:00 there (from the 30th, clamped), 1 March in UTC
    start = utc(2026, 1, 31, 3)
    assert add_months(start, 1, UTC) == utc(2026, 2, 28, 3)
    assert add_months(start, 1, CHICAGO) == utc(2026, 3, 1, 3)
    # 15 June 22:00 UTC is 16 June 10:00 in Auckland: the day of the month is Auckland's
    assert add_months(utc(2026, 6, 15, 22), 1, AUCKLAND).astimezone(AUCKLAND).date() == dt.date(2026, 7, 16)
    # across a daylight-saving change the local time of day is kept, so the UTC time moves by an hour
    assert add_months(utc(2026, 1, 10, 15), 6, CHICAGO) == utc(2026, 7, 10, 14)  # 09:00 CST -> 09:00 CDT


def test_a_local_time_that_does_not_exist_moves_forward() -> None:
    # 8 March 2026 02:30 does not exist in Chicago (clocks go 02:00 -> 03:00)
    start = dt.datetime(2026, 2, 8, 2, 30, tzinfo=CHICAGO)
    end = add_months(start, 1, CHICAGO)
    assert end.astimezone(CHICAGO).date() == dt.date(2026, 3, 8)
    assert end == utc(2026, 3, 8, 8, 30)


def test_no_validity_means_no_valid_until() -> None:
    assert valid_until_for(PolicyTerms(), utc(2026, 1, 1), UTC) is None
    assert valid_until_for(TERMS, utc(2026, 12, 5, 1), UTC) == utc(2031, 12, 5, 1)


def test_refuses_naive_and_past_year_9999() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_months(dt.datetime(2026, 1, 1), 1, UTC)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ValueError, match="9999"):
        add_months(utc(9999, 6, 1), 12, UTC)


# --- cycles -------------------------------------------------------------------------------------------------------

CYCLE = Cycle(start=utc(2026, 12, 5, 10), end=utc(2031, 12, 5, 10))


def test_cycle_instants_are_half_open() -> None:
    assert CYCLE.contains_instant(utc(2026, 12, 5, 10))
    assert CYCLE.contains_instant(utc(2031, 12, 5, 9, 59, 59))
    assert not CYCLE.contains_instant(utc(2031, 12, 5, 10))
    assert not CYCLE.contains_instant(utc(2026, 12, 5, 9, 59, 59))


def test_dates_at_the_cycle_boundaries_in_utc() -> None:
    assert not CYCLE.contains(dt.date(2026, 12, 4), UTC)
    assert CYCLE.contains(dt.date(2026, 12, 5), UTC)  # the first day counts
    assert CYCLE.contains(dt.date(2031, 12, 5), UTC)  # valid until 10:00 that day: the last day counts
    assert not CYCLE.contains(dt.date(2031, 12, 6), UTC)
    assert CYCLE.last_day(UTC) == dt.date(2031, 12, 5)
    assert CYCLE.first_day(UTC) == dt.date(2026, 12, 5)


def test_a_cycle_ending_at_midnight_ends_with_the_previous_day() -> None:
    cycle = Cycle(start=utc(2026, 1, 1), end=utc(2031, 1, 1))
    assert cycle.contains(dt.date(2030, 12, 31), UTC)
    assert not cycle.contains(dt.date(2031, 1, 1), UTC)
    assert cycle.last_day(UTC) == dt.date(2030, 12, 31)


def test_the_time_zone_at_a_cycle_end_decides_the_last_day() -> None:
    # ends 5 December 2031 03:00 UTC: still 4 December 21:00 in Chicago, already 5 December 16:00 in Auckland
    cycle = Cycle(start=utc(2026, 12, 5, 3), end=utc(2031, 12, 5, 3))
    assert cycle.contains(dt.date(2031, 12, 5), UTC)
    assert cycle.last_day(CHICAGO) == dt.date(2031, 12, 4)
    assert cycle.contains(dt.date(2031, 12, 4), CHICAGO)
    assert not cycle.contains(dt.date(2031, 12, 5), CHICAGO)  # 5 Dec in Chicago begins at 06:00 UTC: after the end
    assert cycle.last_day(AUCKLAND) == dt.date(2031, 12, 5)
    assert cycle.contains(dt.date(2031, 12, 5), AUCKLAND)
    assert not cycle.contains(dt.date(2031, 12, 6), AUCKLAND)
    # and at the start: 5 Dec 2026 03:00 UTC is 4 December in Chicago
    assert cycle.first_day(CHICAGO) == dt.date(2026, 12, 4)
    assert cycle.contains(dt.date(2026, 12, 4), CHICAGO)
    assert not cycle.contains(dt.date(2026, 12, 4), UTC)


def test_days_left() -> None:
    assert CYCLE.days_left(utc(2031, 12, 5, 9), UTC) == 0
    assert CYCLE.days_left(utc(2031, 12, 4, 23), UTC) == 1
    assert CYCLE.days_left(utc(2031, 9, 6, 12), UTC) == 90
    assert CYCLE.days_left(utc(2031, 12, 6, 12), UTC) == -1
    assert Cycle(start=utc(2026, 1, 1), end=None).days_left(utc(2031, 1, 1), UTC) is None


def test_open_cycle_contains_every_later_day() -> None:
    cycle = Cycle(start=utc(2026, 1, 1), end=None)
    assert cycle.contains(dt.date(9999, 12, 31), UTC)
    assert not cycle.contains(dt.date(2025, 12, 31), UTC)


def test_the_time_zone_setting_is_checked_at_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from issuer.config import load_settings

    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.setenv("ISSUER_TIMEZONE", "America/Chicago")
    assert load_settings(str(tmp_path))["ISSUER_TIMEZONE"] == "America/Chicago"
    monkeypatch.delenv("ISSUER_TIMEZONE")
    assert load_settings(str(tmp_path))["ISSUER_TIMEZONE"] == "UTC"
    monkeypatch.setenv("ISSUER_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(RuntimeError, match="ISSUER_TIMEZONE='Mars/Olympus_Mons' is not a known IANA time zone"):
        load_settings(str(tmp_path))
