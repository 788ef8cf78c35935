"""The employer's journey on a desktop and on a phone: scan the QR code, read the answer, check the candidate's
e-mail address, and paste a tampered credential. Every page passes axe-core and fits the screen."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from tests.browser.journeys import SIZES, assert_accessible_and_fits, issue_emerging, sized_page

pytestmark = pytest.mark.browser

FORGED = "Music Therapists: Advanced (forged)"


@pytest.mark.parametrize("size", SIZES)
def test_employer_scans_checks_the_candidate_and_spots_a_forgery(
        live_server: dict[str, Any], chromium: Any, size: str) -> None:
    base = live_server["url"]
    credential_id = issue_emerging(live_server)
    therapist_email = live_server["accounts"]["therapist"][0]
    with sized_page(chromium, size) as page:
        scan_and_read(page, base, credential_id, size)
        check_the_recipient(page, therapist_email, size)
        paste_a_tampered_copy(page, base, credential_id, size)
        paste_the_genuine_copy(page, base, credential_id, therapist_email, size)


def scan_and_read(page: Any, base: str, credential_id: Any, size: str) -> None:
    """Scan the QR code; the answer first (verified, who, the level in words, what it certifies), checks folded."""
    import zxingcpp
    from PIL import Image

    png = page.request.get(f"{base}/credentials/{credential_id}/qr.png").body()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [f"{base}/verify/{credential_id}"]
    page.goto(decoded[0].text)
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Verified: genuine, current and not revoked"
    card = page.locator(".result-card")
    for text in ("Taylor Therapist", "Emerging music therapist — level 1 of 4", "Does not expire",
                 "What it certifies: 10 competencies"):
        assert text in card.inner_text(), text
    badge = card.locator("img.result-badge")
    assert badge.is_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", badge.element_handle())
    technical = page.locator("details.technical")
    assert technical.get_attribute("open") is None
    assert not page.locator(".checks").is_visible()
    assert card.bounding_box()["y"] < technical.bounding_box()["y"]
    assert_accessible_and_fits(page, f"/verify/<id> at {size}")


def check_the_recipient(page: Any, therapist_email: str, size: str) -> None:
    """The candidate's address (typed carelessly) is confirmed; another one is not."""
    page.get_by_role("link", name="Check the candidate's e-mail address").click()
    page.wait_for_url(re.compile(r"/recipient$"))
    assert_accessible_and_fits(page, f"/verify/<id>/recipient at {size}")
    page.get_by_label("Candidate's e-mail address").fill(f"  {therapist_email.upper()} ")
    page.get_by_role("button", name="Check the e-mail address").click()
    page.wait_for_load_state()
    assert page.locator(".recipient-answer").inner_text() == (
        "Confirmed: this credential was issued to that e-mail address.")
    assert_accessible_and_fits(page, f"recipient confirmed at {size}")
    page.get_by_label("Candidate's e-mail address").fill("someone.else@example.org")
    page.get_by_role("button", name="Check the e-mail address").click()
    page.wait_for_load_state()
    assert page.locator(".recipient-answer").inner_text().startswith("Not confirmed")
    assert_accessible_and_fits(page, f"recipient denied at {size}")


def paste_a_tampered_copy(page: Any, base: str, credential_id: Any, size: str) -> None:
    """The heading says what failed and what to do, never the forged title; no card of claims."""
    document = page.request.get(f"{base}/credentials/{credential_id}.json").json()
    document["name"] = FORGED
    document["credentialSubject"]["achievement"]["name"] = FORGED
    page.goto(f"{base}/verify")
    assert_accessible_and_fits(page, f"/verify at {size}")
    page.get_by_label("Credential (JSON or JWT)").fill(json.dumps(document))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "This credential has been altered since it was issued, or was never issued here"
    assert FORGED not in heading.inner_text()
    assert "What to do next:" in page.locator(".result-status").inner_text()
    assert not page.locator(".result-facts").count()
    assert_accessible_and_fits(page, f"tampered result at {size}")


def paste_the_genuine_copy(page: Any, base: str, credential_id: Any, therapist_email: str, size: str) -> None:
    """Who it belongs to, and the recipient check right on the result."""
    genuine = page.request.get(f"{base}/credentials/{credential_id}.json").text()
    page.goto(f"{base}/verify")
    page.get_by_label("Credential (JSON or JWT)").fill(genuine)
    with page.expect_navigation():
        page.get_by_role("button", name="Verify", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Verified: genuine, current and not revoked"
    assert "Taylor Therapist" in page.locator(".result-card").inner_text()
    assert_accessible_and_fits(page, f"pasted result at {size}")
    page.get_by_label("Candidate's e-mail address").fill(therapist_email)
    with page.expect_navigation():
        page.get_by_role("button", name="Check the e-mail address").click()
    assert page.locator(".recipient-answer").inner_text().startswith("Confirmed")
    assert_accessible_and_fits(page, f"pasted and confirmed at {size}")
