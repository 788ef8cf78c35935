"""Confirmation before a destructive action, without JavaScript.

A destructive action (rotate keys, deactivate an account, revoke or suspend a credential, revoke a key, remove an
issuer from the trust list…) is a POST that must carry ``confirm=yes``. Its page links to a confirmation step: a
GET that says exactly what will happen, with a form posting ``confirm=yes`` (and the CSRF token). A POST without
it changes nothing: it answers 400 with that same confirmation page, the fields it was sent carried over, so the
person can confirm from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Response, render_template, request

#: The form field, and its value, that confirms a destructive action.
FIELD, YES = "confirm", "yes"
#: Never carried over from an unconfirmed POST into the confirmation form.
_NOT_CARRIED = frozenset({FIELD, "csrf_token"})


@dataclass
class Confirmation:
    title: str  # the question, e.g. "Rotate the signing keys?"
    consequences: list[str]  # what will happen, each in one plain sentence
    action: str  # where the confirmed form posts
    button: str  # the confirming button's label, e.g. "Rotate keys"
    cancel: str  # where "Cancel" leads back to
    hidden: dict[str, str] = field(default_factory=dict)  # fields the confirmed form carries
    danger: bool = True


def confirmed() -> bool:
    return request.form.get(FIELD) == YES


def page(confirmation: Confirmation, *, refused: bool = False) -> Response:
    """The confirmation step; ``refused``: answering a POST that came without ``confirm=yes`` (400)."""
    if refused:
        carried = {k: v for k, v in request.form.items() if k not in _NOT_CARRIED}
        confirmation.hidden = {**carried, **confirmation.hidden}
    response = Response(render_template("confirm.html", c=confirmation, refused=refused))
    response.status_code = 400 if refused else 200
    response.headers["Cache-Control"] = "no-store"
    return response
