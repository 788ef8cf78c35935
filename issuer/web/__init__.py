"""HTML and public document blueprints, and what every page shares."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from issuer.credentials.dates import readable_date
from issuer.models import Role, utcnow


def init_app(app: Flask) -> None:
    from issuer.extensions import csrf, login_manager
    from issuer.protocols import oauth as oauth_server
    from issuer.web import (
        account_links,
        admin,
        auth,
        cors,
        credentials,
        ledger,
        oauth,
        obapi,
        oid4vci,
        public,
        recertification,
        records,
        supervisor,
        therapist,
        wellknown,
    )

    login_manager.init_app(app)
    csrf.init_app(app)
    oauth_server.init_app(app)
    for blueprint in (obapi.bp, oauth.bp, oid4vci.bp, public.bp, auth.bp, supervisor.bp, therapist.bp, records.bp,
                      admin.bp, recertification.bp, credentials.bp, wellknown.bp, ledger.bp,
                      account_links.bp):
        app.register_blueprint(blueprint)
    # Token-authenticated or client-authenticated endpoints: no cookies, so no CSRF. The consent and wallet
    # pages keep CSRF protection.
    for view in (obapi.upsert_credential, obapi.put_profile, oauth.token, oauth.register, oauth.revoke,
                 oid4vci.credential_endpoint, oid4vci.nonce_endpoint):
        csrf.exempt(view)

    app.add_template_filter(readable_date, "readable_date")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"Role": Role, "today": utcnow().date().isoformat()}

    app.after_request(security_headers)
    app.after_request(cors.cors_headers)


#: No inline script or style anywhere, so the policy needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response
