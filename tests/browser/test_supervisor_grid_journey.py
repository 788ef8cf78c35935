"""The supervisor's grid in a real browser, on a desktop (1366×900) and a phone (390×844): statements recorded
without a reload, focus on the next one, a confirmation before issuing, the same journey with JavaScript off,
a draft that survives an ended session; no horizontal scrolling and no axe violation on any of these pages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from issuer.extensions import db
from issuer.models import Framework
from tests.browser import journeys

pytestmark = pytest.mark.browser

#: Set to a directory to keep a screenshot of each page the tests visit (for a person to look at).
SHOTS = os.environ.get("ISSUER_TEST_SCREENSHOTS")


@pytest.fixture(params=list(journeys.SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def statements(live_server: dict[str, Any]) -> list[str]:
    """The names of the Emerging statements, in the grid's order."""
    with live_server["app"].app_context():
        framework = db.session.scalars(select(Framework)).one()
        return [s.name for s in framework.levels[0].statements]


@pytest.fixture
def page(chromium: Any, size: str) -> Iterator[Any]:
    with journeys.sized_page(chromium, size) as page:
        yield page


@pytest.fixture
def page_without_js(chromium: Any, size: str) -> Iterator[Any]:
    with journeys.sized_page(chromium, size, java_script_enabled=False) as page:
        yield page


def sign_in(page: Any, live_server: dict[str, Any]) -> None:
    email, password = live_server["accounts"]["supervisor"]
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_grid(page: Any, live_server: dict[str, Any]) -> None:
    page.goto(f"{live_server['url']}/login")
    sign_in(page, live_server)
    page.get_by_role("link", name="Taylor Therapist").click()
    page.wait_for_url(re.compile(r"/supervisor/therapists/\d+$"))


def box(page: Any, name: str, level: str = "Emerging") -> Any:
    return page.get_by_role("checkbox", name=f"Record \u2018{name}\u2019 ({level}) as met", exact=True)


def check_page(page: Any, label: str, size: str) -> None:
    """No horizontal overflow, no axe violation; a screenshot if asked for."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{label} at {size}: {width}px wide in a {inner}px window"
    journeys.assert_accessible_and_fits(page, f"{label} at {size}")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{label}-{size}.png"), full_page=True)


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_several_statements_recorded_without_reload_then_confirmed_and_issued(
        live_server: dict[str, Any], page: Any, size: str, statements: list[str]) -> None:
    open_grid(page, live_server)
    check_page(page, "grid", size)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.stillThisPage = true")

    for name in statements[:3]:
        box(page, name).check()
    page.get_by_label("Note (optional, up to 2,000 characters)").first.fill("Group session, week 3.")
    record = page.get_by_role("button", name=re.compile(r"^Record selected Emerging statements"))
    assert record.inner_text().endswith("(3)")
    record.click()

    announcer = page.locator("#grid-announcer")
    announcer.filter(has_text="Recorded: ").wait_for()
    assert announcer.inner_text() == "Recorded: " + "; ".join(statements[:3]) + "."
    assert navigations == []
    assert page.evaluate("window.stillThisPage") is True
    assert "(3/10 met)" in page.locator("#level-emerging h3").inner_text()
    for name in statements[:3]:
        assert box(page, name).count() == 0  # the row now says "Met"
    assert page.locator("#level-emerging li.statement.met").count() == 3
    # Focus is on the next statement not yet met.
    next_box = box(page, statements[3])
    assert focused_id(page) == next_box.get_attribute("id")
    # The sticky bar stays on screen while the level is, and leaves the focused row visible.
    bar = page.locator("#level-emerging .record-bar").bounding_box()
    viewport = page.viewport_size
    assert bar is not None
    assert bar["y"] + bar["height"] <= viewport["height"] + 1
    assert bar["height"] <= 120
    focused = next_box.bounding_box()
    assert focused is not None
    assert focused["y"] + focused["height"] <= bar["y"]
    check_page(page, "grid-recorded", size)

    # The other seven at once; focus then goes to the bar's "Complete" link.
    for name in statements[3:]:
        box(page, name).check()
    record.click()
    page.locator("#level-emerging .complete-link").wait_for()
    assert navigations == []
    complete = page.get_by_role("link", name="10/10 · Complete Emerging")
    assert page.evaluate("document.activeElement.classList.contains('complete-link')")
    assert "(10/10 met)" in page.locator("#level-emerging h3").inner_text()

    complete.click()
    page.wait_for_url(re.compile(r"/levels/\d+/complete$"))
    main = page.locator("main").inner_text()
    for expected in ("Check before issuing", "Taylor Therapist", "therapist@example.org", "Music Therapists: Emerging",
                     *statements):
        assert expected in main, expected
    assert main.count("Met on ") == 10
    check_page(page, "confirm", size)
    page.get_by_role("button", name="Sign and issue the Emerging credential").click()
    page.wait_for_url(re.compile(r"/credentials/[0-9a-f-]{36}$"))
    assert "Verified" in page.locator(".verdict").first.text_content()


def test_with_javascript_off_the_form_still_records(
        live_server: dict[str, Any], page_without_js: Any, statements: list[str]) -> None:
    page = page_without_js
    open_grid(page, live_server)
    box(page, statements[0]).check()
    box(page, statements[1]).check()
    page.get_by_label("Date observed").first.fill("2999-01-01")
    page.get_by_label("Note (optional, up to 2,000 characters)").first.fill("Typed without JavaScript.")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Record selected Emerging statements")).click()
    # The error is next to the date, and everything typed is still there.
    date = page.get_by_label("Date observed").first
    assert date.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{date.get_attribute('aria-describedby')}")
    assert "cannot be in the future" in error.inner_text()
    assert date.input_value() == "2999-01-01"
    note = page.get_by_label("Note (optional, up to 2,000 characters)").first
    assert note.input_value() == "Typed without JavaScript."
    assert box(page, statements[0]).is_checked()
    assert not box(page, statements[2]).is_checked()

    date.fill("2026-11-20")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Record selected Emerging statements")).click()
    assert "(2/10 met)" in page.locator("#level-emerging h3").inner_text()
    assert "Recorded: " in page.locator(".flash").first.inner_text()
    assert page.locator("#level-emerging li.statement.met").count() == 2


def test_the_pages_a_form_post_draws_are_accessible_and_fit(
        live_server: dict[str, Any], page: Any, size: str, statements: list[str]) -> None:
    """The grid as the server draws it after a refused post (errors beside their fields), and after a recorded
    one, audited in a context where axe can run (the form is posted natively, as without JavaScript)."""
    open_grid(page, live_server)
    box(page, statements[0]).check()
    page.get_by_label("Date observed").first.fill("2999-01-01")
    page.get_by_label("Note (optional, up to 2,000 characters)").first.fill("x" * 2001)
    with page.expect_navigation():
        page.evaluate("document.querySelector('form.record-form').submit()")  # no submit event: no script
    assert page.get_by_label("Date observed").first.get_attribute("aria-invalid") == "true"
    check_page(page, "grid-error", size)
    page.get_by_label("Date observed").first.fill("2026-11-20")
    page.get_by_label("Note (optional, up to 2,000 characters)").first.fill("Seen.")
    with page.expect_navigation():
        page.evaluate("document.querySelector('form.record-form').submit()")
    assert "Recorded: " in page.locator(".flash").first.inner_text()
    check_page(page, "grid-recorded-nojs", size)
    page.locator("#level-emerging li.statement.met .withdraw").first.click()
    page.wait_for_url(re.compile(r"/marks/\d+/undo$"))
    check_page(page, "withdraw", size)


def test_a_draft_survives_the_session_ending(live_server: dict[str, Any], page: Any,
                                            size: str, statements: list[str]) -> None:
    open_grid(page, live_server)
    grid = page.url
    box(page, statements[4]).check()
    box(page, statements[6]).check()
    page.get_by_label("Note (optional, up to 2,000 characters)").first.fill("Written before the session ended.")
    page.context.clear_cookies()  # the session ends (expired, or signed out elsewhere)
    page.get_by_role("button", name=re.compile(r"^Record selected Emerging statements")).click()
    page.wait_for_url(re.compile(r"/login\?next="))
    assert "nothing was saved" in page.locator("main").inner_text()
    sign_in(page, live_server)
    page.wait_for_url(grid)
    assert box(page, statements[4]).is_checked()
    assert box(page, statements[6]).is_checked()
    assert not box(page, statements[5]).is_checked()
    note = page.get_by_label("Note (optional, up to 2,000 characters)").first
    assert note.input_value() == "Written before the session ended."
    page.get_by_role("button", name=re.compile(r"^Record selected Emerging statements")).click()
    page.locator("#grid-announcer").filter(has_text="Recorded: ").wait_for()
    assert "(2/10 met)" in page.locator("#level-emerging h3").inner_text()
