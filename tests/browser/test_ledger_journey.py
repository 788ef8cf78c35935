"""Continuing education in a real browser: the therapist records an activity, their supervisor approves it, and the
therapist's progress counts it. Every page on the way passes axe-core and fits the screen (desktop and phone)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from issuer.extensions import db
from tests.browser.journeys import SIZES, assert_accessible_and_fits, issue_emerging, sized_page

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, account: tuple[str, str]) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url


def five_year_policy(live_server: dict[str, Any]) -> None:
    """The framework's policy: 5 years, 100 credits, 3 of them in ethics (the issuance then sets validUntil)."""
    from issuer.models import Framework, ValidityPolicy, utcnow

    with live_server["app"].app_context():
        framework = db.session.scalars(select(Framework)).first()
        assert framework is not None
        db.session.add(ValidityPolicy(framework_id=framework.id, level_id=None, validity_months=60,
                                      required_credits=Decimal(100), category_minimums='{"ethics": 3}',
                                      minutes_per_credit=50, min_supervised_minutes=None, reminder_days="90,30,7",
                                      updated_at=utcnow()))
        db.session.commit()


@pytest.mark.parametrize("size", SIZES)
def test_therapist_records_an_activity_and_the_supervisor_approves_it(live_server: dict[str, Any], chromium: Any,
                                                                     size: str) -> None:
    base = live_server["url"]
    five_year_policy(live_server)
    issue_emerging(live_server)

    with sized_page(chromium, size) as page:
        sign_in(page, base, live_server["accounts"]["therapist"])
        page.goto(f"{base}/me")
        page.get_by_role("link", name="Continuing education and supervised hours").click()
        page.wait_for_url(f"{base}/me/continuing-education")
        assert "days left" in page.locator("main").inner_text()
        assert_accessible_and_fits(page, f"therapist's continuing education at {size}")

        form = page.get_by_role("form", name="Record a continuing-education activity")
        form.get_by_label("Title").fill("Ethics of telehealth music therapy")
        form.get_by_label("Provider").fill("American Music Therapy Association")
        form.get_by_label("Minutes").fill("150")
        form.get_by_label("Category").select_option(label="Ethics")
        form.get_by_label("Evidence link (optional)").fill("https://example.test/certificates/ethics-2026")
        with page.expect_navigation():
            form.get_by_role("button", name="Record activity").click()
        main = page.locator("main").inner_text()
        assert "it awaits approval" in main
        row = page.get_by_role("row", name=re.compile("Ethics of telehealth music therapy"))
        assert "Awaiting approval" in row.inner_text()
        assert "150 (3)" in row.inner_text()
        assert_accessible_and_fits(page, f"after recording at {size}")
        page.context.clear_cookies()

        sign_in(page, base, live_server["accounts"]["supervisor"])
        page.goto(f"{base}/supervisor/")
        page.get_by_role("link", name="Taylor Therapist").click()
        page.get_by_role("link", name="Continuing education and supervised hours").click()
        page.wait_for_url(re.compile(r"/supervisor/therapists/\d+/continuing-education$"))
        assert_accessible_and_fits(page, f"supervisor's ledger at {size}")
        with page.expect_navigation():
            page.get_by_role("button", name="Approve Ethics of telehealth music therapy").click()
        assert "“Ethics of telehealth music therapy” is approved." in page.locator("main").inner_text()
        row = page.get_by_role("row", name=re.compile("Ethics of telehealth music therapy"))
        assert "Approved" in row.inner_text()
        assert "Approve" not in [b.inner_text() for b in row.get_by_role("button").all()]
        page.context.clear_cookies()

        sign_in(page, base, live_server["accounts"]["therapist"])
        page.goto(f"{base}/me/continuing-education")
        main = page.locator("main").inner_text()
        assert "Approved: 3 of 100 credits" in main
        ethics = page.get_by_role("row", name=re.compile("^Ethics"))
        assert "met" in ethics.inner_text()
