"""CORS, only where browser-based wallets and verifiers need it, and nowhere else.

The credential JSON download, the OID4VCI issuer metadata, the authorization server metadata and the token, nonce
and credential endpoints answer any origin: none of them uses cookies (the token and credential endpoints take
bearer tokens or codes in the request itself), so ``Access-Control-Allow-Origin: *`` without credentials exposes
nothing a page could not already fetch. Every other response (HTML pages, ``/api/v1`` with its cookies, the admin
pages, the consent page) carries no CORS header, so browsers keep other origins out of them.

Preflight (``OPTIONS``) is Flask's automatic answer to every route; this adds the CORS headers to it.
"""

from __future__ import annotations

from flask import Response, request

#: Endpoints open to any origin, and the methods each takes.
OPEN_ENDPOINTS: dict[str, str] = {
    "credentials.download": "GET",  # the .json download only (see ``_open``)
    "oid4vci.openid_credential_issuer": "GET",
    "oauth.authorization_server_metadata": "GET",
    "oauth.token": "POST",
    "oid4vci.nonce_endpoint": "POST",
    "oid4vci.credential_endpoint": "POST",
}
ALLOWED_HEADERS = "Authorization, Content-Type, DPoP"
#: What a wallet script may read of an answer besides the basics: why a token was refused, when to retry.
EXPOSED_HEADERS = "WWW-Authenticate, Retry-After, DPoP-Nonce"
PREFLIGHT_MAX_AGE = 600


def _open() -> str | None:
    methods = OPEN_ENDPOINTS.get(request.endpoint or "")
    if methods is None:
        return None
    if request.endpoint == "credentials.download" and (request.view_args or {}).get("ext") != "json":
        return None
    return methods


def cors_headers(response: Response) -> Response:
    methods = _open()
    if methods is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = f"{methods}, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response
