"""The supervisor's recording draft: what was typed survives an error, an expired form and a new sign-in.

A draft is what the grid's form held (statements ticked, date, note, evidence link): values to put back in the
form, never trusted for anything else. After an error the page is drawn again with it; when the session has
ended or the form's CSRF token has expired, it waits in the (signed) session cookie until the grid is shown
again, after sign-in if need be. The page's JavaScript keeps its own copy in ``sessionStorage`` as well.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

from issuer.errors import wants_json
from issuer.web.converters import MAX_ID

#: The session key holding a draft that waits for the grid.
DRAFT_KEY = "supervisor_draft"
#: A draft's JSON text must stay well inside a cookie (4 KB with everything else the session holds); a longer
#: note is not kept there (the page's JavaScript keeps it in the browser).
MAX_STASHED_CHARS = 2400
#: What is kept of a typed value to show it again (the note's own limit is 2,000 characters: more is an error the
#: person must see with their text).
MAX_KEPT_CHARS = 20_000


@dataclass
class Draft:
    level_id: int
    statement_ids: list[int] = field(default_factory=list)
    observed_on: str = ""
    note: str = ""
    evidence_url: str = ""
    note_dropped: bool = False

    @classmethod
    def from_form(cls, level_id: int) -> Draft:
        """The values a grid form posted, as typed (ids that are not numbers are dropped: no box shows them)."""
        form = request.form
        ids = [int(v) for v in form.getlist("statement_ids")[:200] if v.isdigit() and 0 < int(v) <= MAX_ID]
        return cls(level_id=level_id, statement_ids=ids, observed_on=form.get("observed_on", "")[:100],
                   note=form.get("note", "")[:MAX_KEPT_CHARS],
                   evidence_url=form.get("evidence_url", "")[:MAX_KEPT_CHARS])

    @classmethod
    def from_session(cls, data: Any) -> Draft | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(level_id=int(data["level_id"]), statement_ids=[int(i) for i in data["statement_ids"]],
                       observed_on=str(data["observed_on"]), note=str(data["note"]),
                       evidence_url=str(data["evidence_url"]), note_dropped=bool(data.get("note_dropped")))
        except (KeyError, TypeError, ValueError):
            return None


def same_origin_post() -> bool:
    """Whether the browser says the form came from one of our pages.

    A cross-site POST arrives without the session cookie (SameSite=Lax) and fails the CSRF check: it must not be
    able to put a draft into the person's session (pre-ticked statements) or replace their session cookie.
    Browsers send ``Origin`` with every POST and ``Sec-Fetch-Site`` on most; a client sending neither (a test
    client, an old browser) is taken as same-origin, as it cannot be a cross-site page.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def stash(therapist_id: int, draft: Draft) -> None:
    """Keep ``draft`` in the session until the therapist's grid is shown again."""
    data = {"therapist_id": therapist_id, **asdict(draft)}
    if len(json.dumps(data)) > MAX_STASHED_CHARS:
        data.update(note="", evidence_url="", note_dropped=True)
    session[DRAFT_KEY] = data


def take(therapist_id: int) -> Draft | None:
    """The draft waiting for this therapist's grid, removed from the session (it is shown once)."""
    data = session.get(DRAFT_KEY)
    if not isinstance(data, dict) or data.get("therapist_id") != therapist_id:
        return None
    session.pop(DRAFT_KEY, None)
    return Draft.from_session(data)


def grid_url(therapist_id: int, anchor: str | None = None) -> str:
    return url_for("supervisor.therapist", therapist_id=therapist_id, _anchor=anchor)


def signed_out(therapist_id: int, draft: Draft | None) -> Response:
    """The answer to a supervisor's form posted after their session ended: sign in, then back to the grid.

    Nothing is saved. The draft waits in the session; the browser is sent to sign in with ``next`` pointing at
    the grid (JavaScript gets a 401 saying where to go, and keeps its own copy of the draft).
    """
    if draft is not None and same_origin_post():
        stash(therapist_id, draft)
    login = url_for("auth.login", next=grid_url(therapist_id))
    message = ("Your session had ended, so nothing was saved. Sign in to go back to the record"
               + (" and your draft." if draft is not None else "."))
    if same_origin_post():
        flash(message, "error")  # shown on the sign-in page, whichever way the browser gets there
    if wants_json():
        response = jsonify({"error": "session_expired", "message": message, "login": login})
        response.status_code = 401
        return response
    return redirect(login, code=303)


def form_expired(therapist_id: int, draft: Draft | None, anchor: str | None) -> Response:
    """The answer to a form whose CSRF token expired while the person is still signed in: nothing saved, the draft
    shown again (JavaScript gets a fresh token to send the same form again)."""
    from flask_wtf.csrf import generate_csrf

    message = ("This page was open for a long time, so nothing was saved. "
               + ("Your draft is below: check it and record again." if draft is not None else "Please try again."))
    if wants_json():
        response = jsonify({"error": "form_expired", "message": message, "csrfToken": generate_csrf()})
        response.status_code = 400
        return response
    if not same_origin_post():
        from issuer.errors import error_response

        current_app.logger.info("cross-site form post refused on %s", request.path)
        return error_response(400, "csrf", "This form did not come from this site; nothing was saved.")
    if draft is not None:
        stash(therapist_id, draft)
    flash(message, "error")
    return redirect(grid_url(therapist_id, anchor), code=303)
