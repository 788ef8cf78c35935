"""The therapist's journey on a desktop and on a phone: the share bar at the top of their credential page, copying
its link (and the same bar without JavaScript), and saving the profile to get the link to their public page.
Every page passes axe-core and fits the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.journeys import SIZES, assert_accessible_and_fits, issue_emerging, sized_page

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, account: tuple[str, str]) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url


@pytest.mark.parametrize("size", SIZES)
def test_therapist_shares_a_credential_and_publishes_a_profile(
        live_server: dict[str, Any], chromium: Any, size: str) -> None:
    base = live_server["url"]
    credential_id = issue_emerging(live_server)
    link = f"{base}/credentials/{credential_id}"
    with sized_page(chromium, size, permissions=["clipboard-read", "clipboard-write"]) as page:
        sign_in(page, base, live_server["accounts"]["therapist"])
        page.goto(f"{base}/me")
        assert_accessible_and_fits(page, f"/me at {size}")
        page.get_by_role("link", name=re.compile("Music Therapists: Emerging")).first.click()
        page.wait_for_url(link)

        # The share bar is the first thing on the page, above the credential's own heading.
        bar = page.get_by_role("navigation", name="Share this credential")
        assert bar.is_visible()
        assert bar.bounding_box()["y"] < page.get_by_role("heading", level=1).bounding_box()["y"]
        assert bar.bounding_box()["y"] < 844, "the bar is on the first screen"
        for name in ("Copy link", "Add to LinkedIn", "Badge", "Certificate", "Wallet"):
            target = bar.get_by_role("link", name=name, exact=True)
            assert target.is_visible(), name
            assert target.bounding_box()["height"] >= 44, f"{name}: tap target under 44 px"
        assert bar.get_by_role("link", name="Badge", exact=True).get_attribute("href").endswith(".png")
        assert_accessible_and_fits(page, f"credential page (owner) at {size}")

        # Copy link: the address lands on the clipboard, and the page says so (to screen readers too).
        bar.get_by_role("link", name="Copy link").click()
        status = bar.locator(".share-status")
        status.wait_for(state="visible")
        assert status.inner_text() == f"Link copied: {link}"
        assert status.get_attribute("role") == "status"
        assert page.evaluate("navigator.clipboard.readText()") == link
        assert page.url == link, "copying does not navigate"
        assert_accessible_and_fits(page, f"credential page after copying at {size}")

        # The profile: saving it public gives the link to the new public page, which lists the credential.
        page.goto(f"{base}/me/profile")
        assert_accessible_and_fits(page, f"/me/profile at {size}")
        page.get_by_label("Show my public profile page").check()
        page.get_by_label("Profile address").fill("taylor-music")
        with page.expect_navigation():
            page.get_by_role("button", name="Save").click()
        public = page.get_by_role("link", name=f"{base}/u/taylor-music")
        assert public.is_visible()
        assert "Profile saved." in page.locator("main").inner_text()
        assert_accessible_and_fits(page, f"/me/profile saved at {size}")
        public.click()
        page.wait_for_url(f"{base}/u/taylor-music")
        assert page.get_by_role("link", name=re.compile("Music Therapists: Emerging")).is_visible()
        assert_accessible_and_fits(page, f"/u/<handle> at {size}")


@pytest.mark.parametrize("size", SIZES)
def test_without_javascript_copy_link_is_a_plain_link(live_server: dict[str, Any], chromium: Any, size: str) -> None:
    base = live_server["url"]
    credential_id = issue_emerging(live_server)
    link = f"{base}/credentials/{credential_id}"
    with sized_page(chromium, size, java_script_enabled=False) as page:
        sign_in(page, base, live_server["accounts"]["therapist"])
        page.goto(link)
        copy = page.get_by_role("navigation", name="Share this credential").get_by_role("link", name="Copy link")
        assert copy.get_attribute("href") == link
        copy.click()
        page.wait_for_load_state()
        assert page.url == link
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
