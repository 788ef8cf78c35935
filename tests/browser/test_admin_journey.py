"""The administrator in a real browser, on a desktop and a phone: invites a supervisor (who follows the e-mailed
link and chooses a password), rotates the signing keys through the confirmation step, and exports the audit log.
Every page on the way passes axe-core and fits the screen."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.journeys import SIZES, assert_accessible_and_fits, sized_page

pytestmark = pytest.mark.browser

INVITEE = ("robin.newcomer@example.org", "Robin Newcomer")
PASSWORD = "violin cello viola bass"


def invitation_link(live_server: dict[str, Any]) -> str:
    """The link in the invitation e-mail, read from the outbox as the invitee's mail client would show it."""
    outbox = Path(live_server["app"].config["ISSUER_OUTBOX_DIR"])
    notices = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox.glob("*.eml")]
    invitations = [n for n in notices if n["To"] == INVITEE[0]]
    assert len(invitations) == 1, [n["Subject"] for n in notices]
    body = invitations[0].get_content()
    found = re.search(re.escape(live_server["url"]) + r"/invitations/[A-Za-z0-9_-]{43}", body)
    assert found, body
    return str(found.group(0))


def sign_in(page: Any, base: str, account: tuple[str, str], size: str) -> None:
    page.goto(f"{base}/login")
    assert_accessible_and_fits(page, f"sign-in at {size}")
    page.get_by_label("E-mail address").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def invite(admin: Any, base: str, size: str) -> None:
    """An e-mail address, a name and a role; no password typed by the administrator. Errors show by the field."""
    admin.goto(f"{base}/admin/users")
    assert_accessible_and_fits(admin, f"accounts at {size}")
    form = admin.locator("form", has=admin.get_by_role("button", name="Send invitation"))
    assert form.locator("input[type=password]").count() == 0
    with admin.expect_navigation():
        form.get_by_role("button", name="Send invitation").click()  # empty: errors beside the fields
    email_field = admin.get_by_label("E-mail address")
    assert email_field.get_attribute("aria-invalid") == "true"
    assert "Give the person" in admin.locator(f"#{email_field.get_attribute('aria-describedby')}").inner_text()
    assert_accessible_and_fits(admin, f"invitation form with errors at {size}")
    admin.get_by_label("E-mail address").fill(INVITEE[0])
    admin.get_by_label("Full name").fill(INVITEE[1])
    admin.get_by_label("Role").select_option("supervisor")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Send invitation").click()
    assert f"Invitation sent to {INVITEE[0]}" in admin.locator("main").inner_text()
    assert INVITEE[0] in admin.locator("table.invitations").inner_text()
    assert_accessible_and_fits(admin, f"accounts with an invitation at {size}")


def accept(invitee: Any, base: str, link: str, size: str) -> None:
    """The invitee follows the link from the e-mail and chooses a password: the account opens, signed in."""
    invitee.goto(link)
    assert f"Welcome, {INVITEE[1]}" in invitee.locator("h1").inner_text()
    assert_accessible_and_fits(invitee, f"invitation page at {size}")
    invitee.get_by_label("New password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Repeat the new password").fill(PASSWORD)
    with invitee.expect_navigation():
        invitee.get_by_role("button", name="Open my account").click()
    assert invitee.url == f"{base}/supervisor/"
    assert f"Welcome, {INVITEE[1]}" in invitee.locator("main").inner_text()
    assert_accessible_and_fits(invitee, f"the new supervisor's first page at {size}")
    used = invitee.goto(link)  # the link works once
    assert used is not None
    assert used.status == 410
    assert "used already" in invitee.locator("main").inner_text()
    assert_accessible_and_fits(invitee, f"a used invitation link at {size}")


def rotate_keys(admin: Any, base: str, size: str) -> None:
    """The keys page leads to a confirmation step that says what will happen; confirming rotates."""
    admin.goto(f"{base}/admin/keys")
    assert_accessible_and_fits(admin, f"keys at {size}")
    assert admin.locator("tbody tr", has_text="current").count() == 2
    with admin.expect_navigation():
        admin.get_by_role("link", name="Rotate keys…").click()
    assert admin.url == f"{base}/admin/keys/rotate"
    step = admin.locator("main").inner_text()
    assert "Rotate the signing keys?" in step
    assert "stay published" in step
    assert_accessible_and_fits(admin, f"rotate keys confirmation at {size}")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Rotate keys").click()
    assert "New keys are current" in admin.locator("main").inner_text()
    assert admin.locator("tbody tr", has_text="retired").count() == 2


def export_audit_log(admin: Any, base: str, size: str) -> None:
    """The log tells what happened in sentences with names, and exports to CSV."""
    admin.goto(f"{base}/admin/audit")
    assert_accessible_and_fits(admin, f"audit log at {size}")
    log = admin.locator("table.audit-log").inner_text()
    assert f"invited {INVITEE[1]} ({INVITEE[0]}) as supervisor" in log
    assert f"{INVITEE[1]} accepted their invitation and opened their account." in log
    assert "rotated the signing keys" in log
    with admin.expect_download() as download:
        admin.get_by_role("link", name=re.compile(r"Export all \d+ events as CSV")).click()
    assert download.value.suggested_filename.startswith("audit-log-")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert {"time_utc", "actor_name", "event"} <= set(rows[0])
    assert any(r["action"] == "keys.rotated" and r["actor_name"] for r in rows)
    assert any(r["action"] == "account.invitation_accepted" and r["actor_name"] == INVITEE[1] for r in rows)


@pytest.mark.parametrize("size", SIZES)
def test_admin_invites_rotates_keys_with_confirmation_and_exports_the_audit_log(
        live_server: dict[str, Any], chromium: Any, size: str) -> None:
    base = live_server["url"]
    with sized_page(chromium, size) as admin:
        sign_in(admin, base, live_server["accounts"]["admin"], size)
        invite(admin, base, size)
        with sized_page(chromium, size) as invitee:
            accept(invitee, base, invitation_link(live_server), size)
        rotate_keys(admin, base, size)
        export_audit_log(admin, base, size)
