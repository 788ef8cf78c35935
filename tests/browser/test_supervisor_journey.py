"""The demo supervisor issues a credential in a real browser; an employer follows the QR code and sees it verified."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_supervisor_completes_emerging_and_employer_verifies(live_server: dict[str, Any], browser_page: Any) -> None:
    page = browser_page
    base = live_server["url"]
    email, password = live_server["accounts"]["supervisor"]

    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Taylor Therapist").click()

    section = page.locator("#level-emerging")
    for n in range(10):  # one statement at a time, each with its own note: the grid records in place
        section.locator("li.statement.unmet input[type=checkbox]").first.check()
        section.get_by_label("Note (optional, up to 2,000 characters)").fill(f"Observed in session {n + 1}.")
        section.get_by_role("button", name=re.compile("^Record selected Emerging statements")).click()
        section.locator("h3").filter(has_text=f"({n + 1}/10 met)").wait_for()
    assert "10/10 met" in page.locator("#level-emerging").inner_text()

    page.get_by_role("link", name="10/10 · Complete Emerging").click()
    page.get_by_role("button", name="Sign and issue the Emerging credential").click()
    page.wait_for_url(re.compile(r"/credentials/[0-9a-f-]{36}$"))
    assert "Music Therapists: Emerging" in page.content()
    assert "Taylor Therapist" in page.locator(".recipient").first.inner_text()
    assert "Verified" in page.locator(".verdict").first.text_content()

    # The employer scans the QR code: decode it and follow its URL.
    qr_src = page.locator("img.qr").get_attribute("src")
    png = page.request.get(base + qr_src.replace("qr.svg", "qr.png")).body()
    import zxingcpp
    from PIL import Image

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert decoded, "the QR code did not decode"
    verify_url = decoded[0].text
    assert verify_url.startswith(f"{base}/verify/")

    employer = page.context.browser.new_page()
    employer.goto(verify_url)
    assert "Verified" in employer.locator(".verdict").first.text_content()

    # The supervisor revokes it; the employer's next scan shows it.
    page.get_by_label("Reason (revoke permanently)").fill("Issued to the wrong person.")
    page.get_by_label("I understand that the credential stops verifying for everyone, permanently").check()
    page.get_by_role("button", name="Revoke permanently").click()
    page.wait_for_load_state()
    employer.goto(verify_url)
    text = employer.locator("main").text_content()
    assert "Revoked on" in text
    assert "Not verified" in text
