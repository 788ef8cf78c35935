"""The JSON API under /api/v1: personal API tokens, JSON errors, no CSRF (no cookies are used)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    from issuer.api import (  # noqa: F401  (routes register on import)
        auth,
        credentials,
        ledger,
        openapi,
        therapists,
        vcapi,
        verify,
    )
    from issuer.extensions import csrf

    csrf.exempt(bp)  # token-authenticated; browsers never send our tokens on their own
    csrf.exempt(vcapi.bp)
    app.register_blueprint(bp)
    app.register_blueprint(vcapi.bp)
