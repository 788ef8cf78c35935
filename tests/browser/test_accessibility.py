"""Every page of the app, at a desktop and a phone size: zero axe-core violations and no horizontal overflow.

The pages come from the URL map: every GET route is swept, as the role its blueprint serves, unless it is
listed in NOT_PAGES (JSON, images, files). A new page is therefore audited the day it is added; if it needs an
argument the demo site has no value for, or answers with something other than HTML, the sweep says so.
Some pages are also swept in other states (another role's view, a revoked credential, a failed verification).
On phones the main menu is opened first, and on every page each <details> is opened, so what they hide is
audited too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from issuer import create_app
from tests.browser import demo_site

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}

#: GET routes that answer with something other than an HTML page.
NOT_PAGES = {
    "static", "wellknown.did_document", "wellknown.jwks", "wellknown.logo", "wellknown.status_list",
    "oauth.authorization_server_metadata", "oid4vci.openid_credential_issuer",
    "credentials.badge", "credentials.download", "credentials.qr", "records.evidence", "ledger.report_csv",
    "admin.audit_csv",
}
NOT_PAGE_PREFIXES = ("api.", "obapi.")

#: Who sees a route's page, by the start of its path (anyone else: an anonymous visitor).
ROLE_OF_PATH = {"/admin/": "admin", "/supervisor/": "supervisor", "/me": "therapist", "/account/": "therapist",
                "/oauth/authorize": "therapist"}


@dataclass(frozen=True)
class View:
    """One page in one state: ``endpoint`` as ``role``; ``variant`` names a state set up by ``_open``."""

    endpoint: str
    role: str = "anonymous"
    variant: str = ""
    status: int = 200
    rule: str = ""  # which of the endpoint's routes, when it has several (the first otherwise)

    @property
    def name(self) -> str:
        return f"{self.role}:{self.endpoint}" + (f":{self.rule}" if self.rule else "") + (
            f":{self.variant}" if self.variant else "")


#: The same pages in other states, and pages reached by a form rather than a link.
MORE_VIEWS = [
    View("credentials.page", "therapist"),  # the owner's view: sharing, wallet and visibility
    View("credentials.page", "supervisor"),  # the issuer's view: suspend and revoke
    View("recertification.renew", "supervisor"),  # the renewal page, as the assigned supervisor sees it
    View("credentials.page", "anonymous", "revoked"),
    View("credentials.verify_stored", "anonymous", "revoked"),
    View("credentials.certificate", "anonymous", "revoked", status=410),
    View("credentials.certificate", "anonymous", "suspended"),  # the certificate under a watermark
    View("credentials.page", "anonymous", "suspended"),  # no certificate: a page saying why
    View("public.achievement", "anonymous", "statement"),
    View("credentials.verify_form", "anonymous", "pasted"),  # the result of a pasted, genuine credential
    View("credentials.verify_form", "anonymous", "tampered"),  # the result of a forged one
    View("auth.login", "anonymous", "wrong-password", status=401),
    View("public.framework", "anonymous", "missing", status=404),  # the error page
    View("account_links.reset_password", "anonymous", "used-link", status=410),  # a link used already
    View("account_links.forgot_password", "anonymous", "asked"),  # "check your e-mail"
    View("admin.users", "admin", "invalid-invitation", status=400),  # errors beside the fields
    View("supervisor.confirm", "supervisor", "open-level"),  # what will be signed, of a level not complete
    View("supervisor.undo_form", "supervisor", "open-level"),  # withdrawing a mark of that level
]


def _url_map_views() -> list[View]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ISSUER_KEY_PASSPHRASE": None, "SECRET_KEY": "x"})
    views = []
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: (rule.endpoint, rule.rule))
    several = {rule.endpoint for rule in rules if sum(other.endpoint == rule.endpoint for other in rules) > 1}
    for rule in rules:
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES:
            continue
        if rule.endpoint.startswith(NOT_PAGE_PREFIXES):
            continue
        role = next((role for start, role in ROLE_OF_PATH.items() if rule.rule.startswith(start)), "anonymous")
        views.append(View(rule.endpoint, role, rule=rule.rule if rule.endpoint in several else ""))
    return views


VIEWS = _url_map_views() + MORE_VIEWS


def _url(app: Flask, site: demo_site.DemoSite, view: View) -> str:
    from flask import url_for

    ids = dict(site.ids)
    if view.variant in ("revoked", "suspended"):
        ids["credential_id"] = site.more[f"{view.variant}_credential_id"]
    elif view.variant == "statement":
        ids["achievement_id"] = site.more["statement_achievement_id"]
    elif view.variant == "open-level":
        ids["level_id"], ids["mark_id"] = site.more["open_level_id"], site.more["open_mark_id"]
    elif view.variant == "missing":
        ids["slug"] = "no-such-framework"
    elif view.variant == "used-link":
        ids["token"] = site.more["used_link_token"]
    rule = next(rule for rule in app.url_map.iter_rules()
                if rule.endpoint == view.endpoint and rule.rule == (view.rule or rule.rule))
    missing = [name for name in rule.arguments if name not in ids]
    assert not missing, f"{view.endpoint}: add a value for {missing} to tests/browser/demo_site.py"
    values: dict[str, Any] = {name: ids[name] for name in rule.arguments}
    with app.test_request_context():
        path = url_for(view.endpoint, **values)
    if view.endpoint == "oauth.authorize":
        path += "?" + site.more["authorize_query"]
    if view.endpoint == "admin.trust_remove":  # the confirmation step names the issuer to remove
        path += "?issuer_id=" + site.more["trusted_issuer_id"]
    return site.url + path


@pytest.fixture(scope="session")
def axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _audit(page: Any) -> Any:
    """axe-core's default rules (WCAG 2.x A and AA, best practices) on the page as it is now."""
    from axe_playwright_python.base import AxeResults

    return AxeResults(page.evaluate("axe.run({resultTypes: ['violations']})"))


@pytest.fixture(scope="session")
def pages(chromium: Any, demo: demo_site.DemoSite, axe: Any) -> Iterator[dict[tuple[str, str], Any]]:
    """One page per (role, size), signed in on first use and kept for the session."""
    opened: dict[tuple[str, str], Any] = {}

    class Pages(dict[tuple[str, str], Any]):
        def __missing__(self, key: tuple[str, str]) -> Any:
            role, size = key
            width, height = SIZES[size]
            context = chromium.new_context(viewport={"width": width, "height": height})
            context.add_init_script(axe.axe_script)  # in every document, whatever its CSP
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role != "anonymous":
                demo.sign_in(page, role)
            opened[key] = page
            self[key] = page
            return page

    yield Pages()
    for page in opened.values():
        page.context.close()


#: Controls smaller than 44 × 44 CSS px (links inside text, checkboxes and radios beside their labels excepted).
SMALL_TARGETS = """() => {
  const controls = document.querySelectorAll(
    "button, select, summary, .button, nav a, input:not([type=hidden]):not([type=checkbox]):not([type=radio])");
  const small = [];
  for (const el of controls) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    if (box.width < 43.5 || box.height < 43.5) {
      small.push(`${el.outerHTML.slice(0, 100)} is ${Math.round(box.width)} x ${Math.round(box.height)} px`);
    }
  }
  return small;
}"""

#: Buttons and disclosure summaries that share one accessible name but do different things (submit another
#: form, or open other content): a screen reader's list of controls cannot tell them apart.
SAME_NAMES = """() => {
  const nameOf = (el) => {
    const ids = el.getAttribute("aria-labelledby");
    const text = el.getAttribute("aria-label")
      || (ids && ids.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" "))
      || el.textContent || el.value || "";
    return text.replace(/\\s+/g, " ").trim();
  };
  const actionOf = (el) => {
    if (el.tagName === "SUMMARY") return el.parentElement;  // each opens its own content
    if (!el.form) return el;
    const hidden = [...el.form.querySelectorAll("input[type=hidden]:not([name=csrf_token])")]
      .map((input) => `${input.name}=${input.value}`).join("&");
    return `${el.form.action} ${el.form.method} ${hidden} ${el.name}=${el.value}`;
  };
  const seen = new Map();
  const clashes = [];
  for (const el of document.querySelectorAll("button, summary, input[type=submit]")) {
    const name = nameOf(el);
    const action = actionOf(el);
    if (!seen.has(name)) seen.set(name, action);
    else if (seen.get(name) !== action) clashes.push(name);
  }
  return [...new Set(clashes)];
}"""


def _open(page: Any, site: demo_site.DemoSite, url: str, view: View) -> Any:
    """Go to ``view``'s page in its state; the response of the page's own request."""
    if view.variant in ("pasted", "tampered"):
        document = page.request.get(f"{site.url}/credentials/{site.ids['credential_id']}.json").json()
        if view.variant == "tampered":
            document["name"] = "Advanced clinical practice (forged)"
        page.goto(url)
        page.get_by_label("Credential (JSON or JWT)").fill(json.dumps(document))
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Verify", exact=True).click()
        return navigation.value
    if view.variant == "asked":
        page.goto(url)
        page.get_by_label("E-mail address").fill("someone@example.org")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Send me a link").click()
        return navigation.value
    if view.variant == "invalid-invitation":
        page.goto(url)
        page.get_by_label("Full name").fill("Robin Second")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Send invitation").click()
        return navigation.value
    if view.variant == "wrong-password":
        page.context.clear_cookies()
        page.goto(url)
        page.get_by_label("E-mail address").fill(site.accounts["therapist"][0])
        page.get_by_label("Password").fill("not the password")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Sign in").click()
        return navigation.value
    return page.goto(url)


@pytest.mark.parametrize("view", VIEWS, ids=[view.name for view in VIEWS])
@pytest.mark.parametrize("size", SIZES)
def test_page_is_accessible_and_fits(size: str, view: View, demo: demo_site.DemoSite,
                                     pages: dict[tuple[str, str], Any]) -> None:
    page = pages[view.role, size]
    url = _url(demo.app, demo, view)
    response = _open(page, demo, url, view)
    assert response is not None
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("text/html"), (
        f"{view.endpoint} answers {content_type}: add it to NOT_PAGES if it is not a page")
    assert response.status == view.status, (view.name, response.status, page.locator("main").inner_text()[:300])
    if view.role != "anonymous":
        assert "/login" not in page.url, f"{view.name}: sent to sign in"

    toggle = page.locator("header.site .menu-toggle")
    if size == "phone" and toggle.is_visible():
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        if view.role != "anonymous" and "wrong-password" not in view.variant:
            sign_out = page.get_by_role("button", name="Sign out")
            assert sign_out.is_visible()
            assert sign_out.bounding_box()["x"] + sign_out.bounding_box()["width"] <= SIZES[size][0]
    page.evaluate("for (const d of document.querySelectorAll('details')) d.open = true")

    assert page.evaluate(SMALL_TARGETS) == [], f"{view.name} at {size}: tap targets under 44 px"
    assert page.evaluate(SAME_NAMES) == [], f"{view.name} at {size}: controls that share a name"
    results = _audit(page)
    assert results.violations_count == 0, f"{view.name} at {size}:\n{results.generate_report()}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{view.name} at {size} is {overflow} px wider than the screen"


def test_every_page_is_swept() -> None:
    """The sweep covers the routes it must: a route mistaken for a non-page would go unaudited."""
    endpoints = {view.endpoint for view in VIEWS}
    for must in ("public.index", "credentials.page", "credentials.certificate", "credentials.verify_stored",
                 "supervisor.therapist", "therapist.home", "admin.audit_log", "auth.login", "oauth.authorize"):
        assert must in endpoints, must
    assert {view.role for view in VIEWS} == {"anonymous", "therapist", "supervisor", "admin"}
    assert not NOT_PAGES & endpoints
