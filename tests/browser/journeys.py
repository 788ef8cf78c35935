"""What the employer and therapist journeys share: an issued credential on the live server, sized contexts, axe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from issuer.extensions import db

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def issue_emerging(live_server: dict[str, Any]) -> uuid.UUID:
    """The demo supervisor records every Emerging statement of the demo therapist and completes the level."""
    from issuer.issuance import completion
    from issuer.learning import record_book
    from issuer.models import Framework, Role, User, utcnow

    app = live_server["app"]
    with app.test_request_context():
        users = {user.role: user for user in db.session.scalars(select(User))}
        supervisor, therapist = users[Role.SUPERVISOR], users[Role.THERAPIST]
        framework = db.session.scalars(select(Framework)).first()
        assert framework is not None
        level = framework.levels[0]
        for n, statement in enumerate(level.statements):
            record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist, statement=statement,
                                       observed_on=utcnow().date(), note=f"Observed in session {n + 1}.")
        credential = completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=level)
        db.session.commit()
        return credential.id


@contextmanager
def sized_page(chromium: Any, size: str, **options: Any) -> Iterator[Any]:
    """A page of its own (cookies and all) at ``size``, with axe-core loaded into every document it opens."""
    from axe_playwright_python.sync_playwright import Axe

    width, height = SIZES[size]
    context = chromium.new_context(viewport={"width": width, "height": height}, **options)
    context.add_init_script(Axe().axe_script)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def assert_accessible_and_fits(page: Any, where: str) -> None:
    """Zero axe-core violations (WCAG 2.x A and AA, best practices), with every <details> open as well as closed,
    and no horizontal overflow."""
    from axe_playwright_python.base import AxeResults

    for opened in (False, True):
        if opened:
            page.evaluate("for (const d of document.querySelectorAll('details')) d.open = true")
        results = AxeResults(page.evaluate("axe.run({resultTypes: ['violations']})"))
        assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{where} is {overflow} px wider than the screen"
    page.evaluate("for (const d of document.querySelectorAll('details')) d.open = false")
