"""The responsive layout: the phone menu, tables as cards, the printable certificate, live job progress."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.demo_site import DemoSite

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    made: list[Any] = []

    def new(**options: Any) -> Any:
        made.append(chromium.new_context(**options))
        return made[-1]

    yield new
    for context in made:
        context.close()


def _overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_phone_menu_opens_and_closes_and_desktop_menu_is_always_open(demo: DemoSite, context: Any) -> None:
    page = context(viewport=PHONE).new_page()
    demo.sign_in(page, "admin")
    toggle = page.get_by_role("button", name="Menu")
    sign_out = page.get_by_role("button", name=re.compile("^Sign out"))
    assert toggle.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not sign_out.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert sign_out.is_visible()
    box = sign_out.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 44  # a tap target
    assert _overflow(page) <= 0
    sign_out.focus()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not sign_out.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('menu-toggle')")

    wide = context(viewport=DESKTOP).new_page()
    demo.sign_in(wide, "admin")
    assert not wide.get_by_role("button", name="Menu").is_visible()
    assert wide.get_by_role("button", name=re.compile("^Sign out")).is_visible()


def test_without_javascript_the_phone_menu_is_open_and_fits(demo: DemoSite, context: Any) -> None:
    page = context(viewport=PHONE, java_script_enabled=False).new_page()
    demo.sign_in(page, "supervisor")
    assert not page.locator(".menu-toggle").is_visible()
    sign_out = page.get_by_role("button", name=re.compile("^Sign out"))
    assert sign_out.is_visible()
    assert sign_out.bounding_box()["x"] + sign_out.bounding_box()["width"] <= PHONE["width"]
    page.goto(demo.url + "/admin/users")  # a supervisor is refused: the error page fits too
    assert _overflow(page) <= 0


def test_without_javascript_wide_tables_scroll_inside_themselves(demo: DemoSite, context: Any) -> None:
    page = context(viewport=PHONE, java_script_enabled=False).new_page()
    demo.sign_in(page, "admin")
    for path in ("/admin/users", "/admin/audit", "/admin/keys", "/admin/trust"):
        page.goto(demo.url + path)
        assert _overflow(page) <= 0, path
        table = page.locator("main table").first
        assert table.get_attribute("data-stack") is None  # not stacked: site.js did not run
        assert table.bounding_box()["width"] <= PHONE["width"], path


def test_tables_become_labelled_cards_on_phones(demo: DemoSite, context: Any) -> None:
    page = context(viewport=PHONE).new_page()
    demo.sign_in(page, "admin")
    page.goto(demo.url + "/admin/users")
    table = page.locator("main table").first
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:3] == ["Name", "E-mail", "Role"]
    first_row = table.locator("tbody tr").first
    cells = first_row.locator("td")
    assert [cells.nth(n).get_attribute("data-label") for n in range(3)] == headers[:3]
    # Stacked: one cell under the other, each as wide as the card, the table within the screen.
    boxes = [cells.nth(n).bounding_box() for n in range(3)]
    assert boxes[0]["x"] == boxes[1]["x"] == boxes[2]["x"]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    assert table.bounding_box()["width"] <= PHONE["width"]
    assert _overflow(page) <= 0
    # Screen readers still get a table: rows, column headers and cells.
    assert page.get_by_role("table", name="Accounts").count() == 1
    assert table.get_by_role("columnheader", name="E-mail").count() == 1
    assert table.get_by_role("cell", name="admin@example.org").count() == 1
    assert table.get_by_role("row").count() == 1 + table.locator("tbody tr").count()

    wide = context(viewport=DESKTOP).new_page()
    demo.sign_in(wide, "admin")
    wide.goto(demo.url + "/admin/users")
    row = wide.locator("main table tbody tr").first.locator("td")
    assert row.nth(0).bounding_box()["y"] == row.nth(1).bounding_box()["y"]  # a row on a wide screen


def test_a_rowspan_keeps_the_columns_labels_right(demo: DemoSite, context: Any) -> None:
    page = context(viewport=PHONE).new_page()
    demo.sign_in(page, "supervisor")
    page.goto(demo.url + "/supervisor/")
    labels = page.locator("main table tbody tr").first.locator("th, td").evaluate_all(
        "cells => cells.map(c => c.dataset.label)")
    assert labels == ["Therapist", "Framework", "Progress"]


@pytest.mark.parametrize("which", ["credential_id", "suspended_credential_id"])
def test_certificate_fits_a_phone_and_prints_on_one_page_of_a4_and_letter(demo: DemoSite, context: Any,
                                                                          which: str) -> None:
    page = context(viewport=PHONE).new_page()
    credential_id = demo.ids.get(which) or demo.more[which]
    page.goto(f"{demo.url}/credentials/{credential_id}/certificate")
    assert _overflow(page) <= 0
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper)
        assert pdf.startswith(b"%PDF"), paper
        # A PDF's page objects are "/Type /Page" (the page tree's "/Type /Pages").
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert pages == 1, f"the certificate prints on {pages} pages of {paper}"


def test_bulk_job_progress_updates_without_reloading_the_page(live_server: dict[str, Any], chromium: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect
    from sqlalchemy import select

    from issuer.extensions import db
    from issuer.issuance import bulk, jobs
    from issuer.models import User
    from issuer.web import admin

    monkeypatch.setattr(admin, "JOB_REFRESH_SECONDS", 1)
    app, base = live_server["app"], live_server["url"]
    email, password = live_server["accounts"]["admin"]
    with app.app_context():
        actor = db.session.scalars(select(User).filter_by(email=email)).one()
        row = bulk.Row(line=2, therapist_email="nobody@example.org", level="Emerging", completion_date="",
                       supervisor_email="supervisor@example.org", status="ok")
        job_id = jobs.create_job(db.session, actor, [row]).id
        db.session.commit()
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/admin/bulk/jobs/{job_id}")
        status = page.get_by_role("status")
        assert "1 waiting" in status.inner_text()
        page.evaluate("window.notReloaded = true")
        with app.app_context():
            jobs.run(db.session)  # the worker: the unknown therapist fails the row
        expect(status).to_contain_text("0 waiting", timeout=10_000)
        assert "1 failed" in status.inner_text()
        assert page.evaluate("window.notReloaded === true")  # the section changed, not the page
        assert page.locator("[data-refresh]").count() == 0  # finished: no more requests
        assert page.locator("main table td[data-label='Result']").inner_text().startswith("failed")
    finally:
        context.close()


def _luminance(css_colour: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+(?:\.\d+)?", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


FOCUS_RING = """el => {
  const style = getComputedStyle(el);
  let behind = el.parentElement;
  while (behind && getComputedStyle(behind).backgroundColor === "rgba(0, 0, 0, 0)") behind = behind.parentElement;
  return {style: style.outlineStyle, width: parseFloat(style.outlineWidth), colour: style.outlineColor,
          background: behind ? getComputedStyle(behind).backgroundColor : "rgb(255, 255, 255)"};
}"""


def test_the_keyboard_focus_ring_has_3_to_1_contrast_where_it_is_drawn(demo: DemoSite, context: Any) -> None:
    page = context(viewport=DESKTOP).new_page()
    page.goto(demo.url + "/verify")
    seen = set()
    for _ in range(8):  # skip link, brand, menu links (dark header), then the form (white main)
        page.keyboard.press("Tab")
        ring = page.evaluate(f"({FOCUS_RING})(document.activeElement)")
        tag = page.evaluate("document.activeElement.closest('header, main') ?.tagName || 'BODY'")
        assert ring["style"] == "solid", ring
        assert ring["width"] >= 3, ring
        assert _contrast(ring["colour"], ring["background"]) >= 3, (tag, ring)
        seen.add(tag)
    assert {"HEADER", "MAIN"} <= seen
